// The router: every page of the front is a view rendered into <main> from the URL; links to our
// own pages navigate without reloading. A view may return a function that stops what it started
// (live subscriptions) when the person leaves the page.
import { h, fill } from "./dom.js";
import { renderAccountNav } from "./session.js";
import { profileView, exploreView } from "./profile.js";

// The profile (the page most visits land on) is imported with the app and preloaded by the
// shell; the other pages' modules load when first visited.
const search = () => import("./search.js");
const account = () => import("./account.js");
const ROUTES = [
  [/^\/$/, async () => (await search()).homeView],
  [/^\/search$/, async () => (await search()).searchView],
  [/^\/researchers\/(.+)$/, async () => profileView],
  [/^\/explore\/(.+)$/, async () => exploreView],
  [/^\/sign-in$/, async () => (await account()).signInView],
  [/^\/sign-up$/, async () => (await account()).signUpView],
  [/^\/confirm-email$/, async () => (await account()).confirmEmailView],
  [/^\/reset-password$/, async () => (await account()).resetPasswordView],
  [/^\/verify-claim$/, async () => (await account()).verifyClaimView],
  [/^\/invitations$/, async () => (await import("./invitations.js")).invitationsView],
];

let stopCurrent = null;

function notFound(main) {
  document.title = "Not found · BZPEER";
  fill(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/" }, "Go home")));
}

async function render() {
  if (stopCurrent) stopCurrent();
  stopCurrent = null;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);
  const search = document.getElementById("site-search");
  if (search) search.value = location.pathname === "/search" ? params.get("q") || "" : "";
  const route = ROUTES.find(([pattern]) => pattern.test(location.pathname));
  if (route) {
    const args = location.pathname.match(route[0]).slice(1).map(decodeURIComponent);
    const view = await route[1]();
    stopCurrent = (await view(main, { args, params, navigate })) || null;
  } else {
    notFound(main);
  }
  // After the page's own first request, which is all its first render waits for.
  renderAccountNav(navigate);
}

/** Goes to one of our pages without reloading. */
export function navigate(url, { replace = false, focus = true } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render().then(() => {
    if (focus && !replace) {
      document.getElementById("main").focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  const ours = ROUTES.some(([pattern]) => pattern.test(url.pathname));
  if (url.origin !== location.origin || !ours || link.target || link.hasAttribute("download"))
    return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList.contains("searchbox") || event.defaultPrevented) return;
  event.preventDefault();
  const text = new FormData(form).get("q").trim();
  navigate(`/search?${new URLSearchParams({ q: text })}`);
});

window.addEventListener("popstate", () => render());
render();
