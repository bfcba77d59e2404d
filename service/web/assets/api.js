// GraphQL over HTTP with the client documents of service/documents (documents.js is generated
// from them when the service starts): the browser sends the session cookie on its own.
import * as documents from "./documents.js";

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join(" "));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code || "ERROR";
  }
}

/** Runs one operation of a document (`graphql("profile_page", "ProfilePage", {id})`): its data,
 * or a GraphQLError carrying the service's message and `extensions.code`. */
export async function graphql(documentName, operationName, variables = {}) {
  const query = documents[documentName];
  if (!query) throw new Error(`no client document ${documentName}`);
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
      },
      body: JSON.stringify({ query, operationName, variables }),
    });
  } catch {
    throw new GraphQLError([
      { message: "The service cannot be reached.", extensions: { code: "NETWORK" } },
    ]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError([
      {
        message: `The service answered ${response.status} without a GraphQL body.`,
        extensions: { code: "UNAVAILABLE" },
      },
    ]);
  }
  if (body.errors && body.errors.length) throw new GraphQLError(body.errors);
  return body.data;
}

export function documentText(documentName) {
  return documents[documentName];
}
