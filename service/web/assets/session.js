// Who is signed in: the Viewer query, asked once per page load and again after signing in or
// out. The session itself is an HttpOnly cookie that scripts never see.
import { graphql } from "./api.js";
import { fill, h } from "./dom.js";

let viewer = null;

/** The signed-in account (`null` for a visitor), asked of the service at most once until
 * `refreshViewer`. */
export function currentViewer() {
  if (!viewer) {
    viewer = graphql("viewer_actions", "Viewer")
      .then((data) => data.viewer)
      .catch(() => null);
  }
  return viewer;
}

export function refreshViewer() {
  viewer = null;
  return currentViewer();
}

/** The header's account links. `navigate` re-renders after signing out. */
export async function renderAccountNav(navigate) {
  const nav = document.getElementById("account");
  const account = await currentViewer();
  if (!account) {
    const here = location.pathname + location.search;
    const next = here.startsWith("/sign-") ? "" : `?next=${encodeURIComponent(here)}`;
    fill(
      nav,
      h("a", { href: `/sign-in${next}` }, "Sign in"),
      h("a", { href: "/sign-up", class: "button" }, "Sign up"),
    );
    return;
  }
  const mine = account.claimedResearcher;
  const signOut = h("button", { type: "button", class: "link" }, "Sign out");
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await graphql("viewer_actions", "SignOut");
    } finally {
      await refreshViewer();
      navigate(location.pathname + location.search, { replace: true });
    }
  });
  fill(
    nav,
    h("span", { class: "who" }, account.email),
    mine ? h("a", { href: `/researchers/${encodeURIComponent(mine.id)}` }, "My profile") : null,
    h("a", { href: "/invitations" }, "Invitations"),
    signOut,
  );
}
