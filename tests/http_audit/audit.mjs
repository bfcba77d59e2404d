// The graphql-http audit of a GraphQL-over-HTTP server: `node audit.mjs <url>` prints one JSON
// line per check ({id, name, status: ok | warn | error, reason}); tests/test_http_audit.py
// runs it against a real `bzpeer serve` and reads the lines.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const results = await auditServer({ url });
for (const result of results) {
  const { id, name, status } = result;
  const reason = result.status === 'ok' ? '' : result.reason;
  console.log(JSON.stringify({ id, name, status, reason }));
}
