// Sign up, confirm email, sign in, password reset and claim verification: forms over the
// viewer_actions document. Links from mails land here with their token in the query.
import { graphql } from "./api.js";
import { field, fill, h, notice, profilePath } from "./dom.js";
import { currentViewer, refreshViewer } from "./session.js";

/** A form page: `run(values)` does the work and answers what to show (a node or text). */
function formPage(main, { title, intro, fields, submit, run, after = [] }) {
  document.title = `${title} · BZPEER`;
  const status = h("div", { class: "form-status" });
  const button = h("button", { type: "submit" }, submit);
  const form = h("form", { class: "stack narrow", "aria-labelledby": "form-title" }, fields, button, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    fill(status);
    try {
      const shown = await run(new FormData(form), form);
      if (shown) fill(status, typeof shown === "string" ? notice(shown, "good") : shown);
    } catch (error) {
      fill(status, notice(error.message, "error"));
    } finally {
      button.disabled = false;
    }
  });
  fill(main, h("h1", { id: "form-title" }, title), intro ? h("p", {}, intro) : null, form, after);
  return form;
}

/** Where to go after signing in: only a page of this site, whatever `next` says. */
function nextPath(params) {
  const next = new URL(params.get("next") || "/", location.origin);
  return next.origin === location.origin ? next.pathname + next.search : "/";
}

export async function signInView(main, { params, navigate }) {
  formPage(main, {
    title: "Sign in",
    fields: [
      field("email", "Email", { type: "email", required: true, autocomplete: "username" }),
      field("password", "Password", { type: "password", required: true, autocomplete: "current-password" }),
    ],
    submit: "Sign in",
    run: async (values) => {
      await graphql("viewer_actions", "SignIn", { email: values.get("email"), password: values.get("password") });
      await refreshViewer();
      navigate(nextPath(params), { replace: true });
      return null;
    },
    after: [
      h("p", {}, h("a", { href: "/reset-password" }, "Forgot your password?")),
      h("p", {}, "New here? ", h("a", { href: "/sign-up" }, "Create an account")),
    ],
  });
  return null;
}

export async function signUpView(main) {
  formPage(main, {
    title: "Create an account",
    intro: "Follow researchers, claim your own author record and invite collaborators.",
    fields: [
      field("displayName", "Your name", { required: true, autocomplete: "name", maxlength: 200 }),
      field("email", "Email", { type: "email", required: true, autocomplete: "email" }),
      field("password", "Password (at least 10 characters)", { type: "password", required: true, minlength: 10, autocomplete: "new-password" }),
    ],
    submit: "Sign up",
    run: async (values) => {
      const email = values.get("email");
      await graphql("viewer_actions", "SignUp", { email, password: values.get("password"), displayName: values.get("displayName") });
      return `Check your mail: we sent a confirmation link to ${email}.`;
    },
    after: [h("p", {}, "Have an account? ", h("a", { href: "/sign-in" }, "Sign in"))],
  });
  return null;
}

export async function confirmEmailView(main, { params }) {
  const token = params.get("token");
  formPage(main, {
    title: "Confirm your email address",
    intro: token ? "One click confirms the address of your new account." : "Enter the code from the confirmation mail.",
    fields: token ? [] : [field("token", "Confirmation code", { required: true, autocomplete: "one-time-code" })],
    submit: "Confirm my address",
    run: async (values) => {
      await graphql("viewer_actions", "ConfirmEmail", { token: token || values.get("token") });
      await refreshViewer();
      return h("div", {}, notice("Your address is confirmed.", "good"), h("p", {}, h("a", { href: "/sign-in" }, "Sign in")));
    },
  });
  return null;
}

export async function resetPasswordView(main, { params }) {
  const token = params.get("token");
  if (!token) {
    formPage(main, {
      title: "Reset your password",
      intro: "We mail a link to choose a new password.",
      fields: [field("email", "Email", { type: "email", required: true, autocomplete: "email" })],
      submit: "Mail me a link",
      run: async (values) => {
        await graphql("viewer_actions", "RequestPasswordReset", { email: values.get("email") });
        return "If an account has this address, a reset link is on its way.";
      },
    });
    return null;
  }
  formPage(main, {
    title: "Choose a new password",
    fields: [field("password", "New password (at least 10 characters)", { type: "password", required: true, minlength: 10, autocomplete: "new-password" })],
    submit: "Set the password",
    run: async (values) => {
      await graphql("viewer_actions", "ResetPassword", { token, password: values.get("password") });
      await refreshViewer();
      return h("div", {}, notice("Your password is changed and every session signed out.", "good"), h("p", {}, h("a", { href: "/sign-in" }, "Sign in")));
    },
  });
  return null;
}

export async function verifyClaimView(main, { params }) {
  const claimId = params.get("claim");
  const token = params.get("token");
  if (!claimId || !token) {
    document.title = "Verify a claim · BZPEER";
    fill(main, h("h1", {}, "Verify a claim"), notice("This link is incomplete: open the link from the mail as it is.", "error"));
    return null;
  }
  const viewer = await currentViewer();
  formPage(main, {
    title: "Verify your claim",
    intro: "Confirm that this author record is yours.",
    fields: [],
    submit: "Verify the claim",
    run: async () => {
      const data = await graphql("viewer_actions", "VerifyClaim", { claimId, token });
      const claim = data.verifyClaim.claim;
      await refreshViewer();
      return h(
        "div",
        {},
        notice(claim.status === "VERIFIED" ? "Claim verified: the record is yours now." : `The claim is ${claim.status.toLowerCase()}.`, claim.status === "VERIFIED" ? "good" : "error"),
        h("p", {}, h("a", { href: profilePath(claim.researcher.id) }, "Go to the profile")),
      );
    },
    after: viewer ? [] : [h("p", {}, "Not signed in? ", h("a", { href: `/sign-in?next=${encodeURIComponent(location.pathname + location.search)}` }, "Sign in first"), " if the service asks for it.")],
  });
  return null;
}
