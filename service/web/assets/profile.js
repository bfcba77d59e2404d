// The researcher profile: every block of the page from the one ProfilePage query, then the graph
// slice, the viewer's options and live follower and trust updates.
import { graphql } from "./api.js";
import { field, fill, h, label, lower, notice, profilePath } from "./dom.js";
import { sliceFigure } from "./graph.js";
import { LiveConnection } from "./live.js";
import { currentViewer } from "./session.js";

const NOT_FOUND_CODES = new Set(["NOT_FOUND", "BAD_USER_INPUT"]);

function failure(main, error) {
  const missing = NOT_FOUND_CODES.has(error.code);
  document.title = `${missing ? "Not found" : "Error"} · BZPEER`;
  fill(
    main,
    h("h1", {}, missing ? "No such researcher" : "The profile could not be loaded"),
    notice(error.message, "error"),
    h("p", {}, h("a", { href: "/" }, "Go home")),
  );
}

function trustBadges(trust) {
  if (!trust) return [h("li", { class: "badge" }, "Trust not computed yet")];
  return [
    h("li", { class: `badge band-${lower(trust.band)}` }, `Trust ${trust.score} - ${label(trust.band)}`),
    h("li", { class: "badge" }, `Verification ${trust.verificationLevel}`),
    h("li", { class: "badge" }, trust.claimed ? "Claimed author" : "Unclaimed author"),
  ];
}

function trustFactors(trust) {
  if (!trust || !trust.factors.length) return null;
  return h(
    "details",
    { class: "factors" },
    h("summary", {}, "How this score is made"),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Trust factors"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Factor"), h("th", { scope: "col" }, "Points"), h("th", { scope: "col" }, "Why"))),
      h(
        "tbody",
        {},
        trust.factors.map((factor) =>
          h("tr", {}, h("th", { scope: "row" }, label(factor.key)), h("td", {}, factor.points > 0 ? `+${factor.points}` : String(factor.points)), h("td", {}, factor.detail)),
        ),
      ),
    ),
  );
}

/** A titled block of the page: `key` names its heading (`<key>-title`) and class. */
function card(key, title, eyebrow, ...children) {
  return h(
    "section",
    { class: `card ${key}-card`, "aria-labelledby": `${key}-title` },
    h("h2", { id: `${key}-title` }, title),
    eyebrow ? h("p", { class: "eyebrow" }, eyebrow) : null,
    children,
  );
}

function counter(value, name, key) {
  return h("div", { class: "counter" }, h("dd", { "data-count": key }, String(value)), h("dt", {}, name));
}

export function workItem(work) {
  const meta = [lower(work.type), work.publicationYear, work.venue && work.venue.displayName].filter(
    (part) => part !== null && part !== undefined && part !== "",
  );
  const links = [];
  if (work.doi) {
    const href = /^https?:\/\//.test(work.doi) ? work.doi : `https://doi.org/${work.doi}`;
    links.push(h("a", { href, rel: "noopener noreferrer" }, "DOI"));
  }
  if (work.arxivId) {
    links.push(h("a", { href: `https://arxiv.org/abs/${encodeURIComponent(work.arxivId)}`, rel: "noopener noreferrer" }, "arXiv"));
  }
  return h(
    "li",
    { class: "work" },
    h("p", { class: "meta" }, meta.map((part) => h("span", {}, String(part)))),
    h("h3", {}, work.title),
    work.abstract ? h("p", { class: "abstract" }, work.abstract) : null,
    links.length ? h("p", { class: "links" }, links) : null,
  );
}

function worksSection(researcher) {
  const works = researcher.works;
  const list = h("ol", { class: "works" }, works.edges.map((edge) => workItem(edge.node)));
  const section = card("works", "Published work", `${works.totalCount} published item(s)`, list);
  let cursor = works.pageInfo.endCursor;
  if (works.pageInfo.hasNextPage) {
    const more = h("button", { type: "button" }, "More works");
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        const data = await graphql("researcher_works", "ResearcherWorks", { id: researcher.id, after: cursor });
        const page = data.researcher.works;
        for (const edge of page.edges) list.append(workItem(edge.node));
        cursor = page.pageInfo.endCursor;
        if (page.pageInfo.hasNextPage) more.disabled = false;
        else more.remove();
      } catch (error) {
        more.replaceWith(notice(error.message, "error"));
      }
    });
    section.append(more);
  }
  return section;
}

function graphSection(researcher) {
  const holder = h(
    "div",
    { class: "slice", "aria-live": "polite" },
    h("p", { class: "strong" }, "Building this graph slice"),
    h("p", {}, "BZPEER is loading the nearby papers, people, topics and institutions for this page."),
  );
  const section = card(
    "graph",
    "Research graph",
    "See the researcher in context",
    h("p", {}, h("a", { href: `/explore/${encodeURIComponent(researcher.id)}` }, "Open full explorer")),
    h("p", {}, "Inspect adjacent work, topics, institutions and collaborators without jumping out to a separate graph page."),
    holder,
  );
  return { section, holder };
}

/** Loads and draws the slice around `centerId` into `holder`; a click on a node recentres it. */
export async function loadSlice(holder, centerId, homeId, variables = {}) {
  try {
    const data = await graphql("graph_slice", "ResearchGraph", { id: centerId, ...variables });
    fill(
      holder,
      sliceFigure(data.graphSlice, {
        centerId,
        homeId,
        onSelect: (nodeId) => loadSlice(holder, nodeId, homeId, variables),
      }),
    );
  } catch (error) {
    fill(holder, notice(`The graph slice could not be loaded: ${error.message}`, "error"));
  }
}

function profileHeader(researcher) {
  const tags = [
    h("li", { class: "tag" }, "Researcher"),
    researcher.affiliation
      ? h("li", { class: "tag" }, researcher.affiliation.displayName)
      : h("li", { class: "tag muted" }, "Affiliation not imported"),
    researcher.openToCollaborate ? h("li", { class: "tag good" }, "Open to collaborate") : null,
    researcher.orcid
      ? h("li", { class: "tag" }, h("a", { href: `https://orcid.org/${encodeURIComponent(researcher.orcid)}`, rel: "noopener noreferrer" }, `ORCID ${researcher.orcid}`))
      : null,
  ];
  return h(
    "section",
    { class: "hero", "aria-labelledby": "profile-name" },
    h("p", { class: "eyebrow" }, "Researcher profile"),
    h("h1", { id: "profile-name" }, researcher.displayName),
    researcher.description ? h("p", { class: "lead" }, researcher.description) : null,
    h("ul", { class: "tags", "aria-label": "About" }, tags),
  );
}

function sideLists(researcher) {
  const topics = researcher.topics.edges;
  const people = researcher.closeCollaborators.edges;
  return card(
    "neighbours",
    "Topics and close collaborators",
    null,
    topics.length
      ? h("ul", { class: "tags", "aria-label": "Topics" }, topics.map((edge) => h("li", { class: "tag" }, edge.node.displayName)))
      : h("p", {}, "No topics yet."),
    people.length
      ? h(
          "ul",
          { class: "people", "aria-label": "Close collaborators" },
          people.map((edge) =>
            h(
              "li",
              {},
              h("a", { href: profilePath(edge.node.id) }, edge.node.displayName),
              h("span", { class: "muted" }, ` · collaboration weight ${edge.weight.toFixed(2)}${edge.node.trust ? ` · trust ${edge.node.trust.score}` : ""}`),
            ),
          ),
        )
      : h("p", {}, "No collaborators yet."),
  );
}

/** The claim and collaboration blocks, which depend on who is looking. */
function identityBlocks(researcher, viewer, here) {
  const claimed = Boolean(researcher.trust && researcher.trust.claimed);
  const mine = viewer && viewer.claimedResearcher && viewer.claimedResearcher.id === researcher.id;
  const claim = h("div", { class: "claim" });
  if (!viewer) {
    claim.append(h("a", { class: "button", href: `/sign-in?next=${encodeURIComponent(here)}` }, "Log in to claim"));
  } else if (mine) {
    claim.append(h("p", { class: "good" }, "This is your record."), editProfileForm(researcher));
  } else if (researcher.viewerCanClaim) {
    claim.append(emailClaimForm(researcher), researcher.orcid ? orcidClaimButton(researcher) : null);
  } else if (claimed) {
    claim.append(h("p", {}, "This record is claimed by its researcher."));
  } else if (!viewer.emailConfirmed) {
    claim.append(h("p", {}, "Confirm your email address to claim a record."));
  } else {
    claim.append(h("p", {}, "Your account already has a claim: one account claims one record."));
  }

  const collaboration = h("div", { class: "collaboration" });
  if (!claimed) {
    collaboration.append(h("p", {}, "Claim this author entity first to unlock direct invitations."));
  } else if (mine) {
    collaboration.append(h("p", {}, "Invitations sent to you are under ", h("a", { href: "/invitations" }, "Invitations"), "."));
  } else if (!viewer) {
    collaboration.append(h("p", {}, h("a", { href: `/sign-in?next=${encodeURIComponent(here)}` }, "Sign in"), " with your claimed record to send an invitation."));
  } else if (!viewer.claimedResearcher) {
    collaboration.append(h("p", {}, "Claim your own author record to send invitations."));
  } else {
    collaboration.append(invitationForm(researcher));
  }
  return { claim, collaboration };
}

function formWithStatus(form, run) {
  const status = h("div", { class: "form-status" });
  form.append(status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fill(status);
    try {
      fill(status, notice(await run(new FormData(form)), "good"));
    } catch (error) {
      fill(status, notice(error.message, "error"));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function emailClaimForm(researcher) {
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Claim by institutional email" },
    field("claim-email", "Your institutional email", { type: "email", required: true, autocomplete: "email" }),
    h("button", { type: "submit" }, "Claim by institutional email"),
  );
  return formWithStatus(form, async (values) => {
    const email = values.get("claim-email");
    await graphql("viewer_actions", "RequestEmailClaim", { id: researcher.id, email });
    return `We sent a link to ${email}. Open it to finish the claim.`;
  });
}

function orcidClaimButton(researcher) {
  const button = h("button", { type: "button", class: "secondary" }, "Claim with ORCID");
  const status = h("div", { class: "form-status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await graphql("viewer_actions", "RequestClaim", { id: researcher.id, method: "ORCID" });
      const url = data.requestClaim.claim.authorizeUrl;
      if (url) location.assign(url);
    } catch (error) {
      fill(status, notice(error.message, "error"));
      button.disabled = false;
    }
  });
  return h("div", { class: "orcid" }, button, status);
}

function invitationForm(researcher) {
  const form = h(
    "form",
    { class: "stack", "aria-label": "Invite to collaborate" },
    field("invitation-message", "Message", { type: "textarea", required: true, maxlength: 2000, rows: 3 }),
    h("button", { type: "submit" }, "Send invitation"),
  );
  return formWithStatus(form, async (values) => {
    await graphql("viewer_actions", "InviteToCollaborate", { id: researcher.id, message: values.get("invitation-message") });
    form.reset();
    return "Invitation sent.";
  });
}

function editProfileForm(researcher) {
  const open = h("input", { id: "profile-open", name: "profile-open", type: "checkbox", checked: researcher.openToCollaborate });
  const form = h(
    "form",
    { class: "stack" },
    field("profile-description", "Description", { type: "textarea", rows: 3, maxlength: 2000 }),
    h("div", { class: "check" }, open, h("label", { for: "profile-open" }, "Open to collaborate")),
    h("button", { type: "submit" }, "Save profile"),
  );
  form.querySelector("textarea").value = researcher.description || "";
  formWithStatus(form, async (values) => {
    await graphql("viewer_actions", "UpdateProfile", {
      description: values.get("profile-description"),
      openToCollaborate: open.checked,
    });
    return "Saved. Reload to see the profile as others do.";
  });
  return h("details", { class: "edit" }, h("summary", {}, "Edit your profile"), form);
}

function followBlock(researcher, followers) {
  let follows = researcher.viewerFollows;
  const count = h("span", { class: "count", "data-count": "follow-button" }, String(followers));
  const text = h("span", {}, follows ? "Unfollow researcher" : "Follow researcher");
  const button = h("button", { type: "button", class: "follow" }, text, count);
  const status = h("div", { class: "form-status" });
  button.addEventListener("click", async () => {
    const viewer = await currentViewer();
    if (!viewer) {
      location.assign(`/sign-in?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    button.disabled = true;
    fill(status);
    try {
      const data = await graphql("viewer_actions", follows ? "Unfollow" : "Follow", { id: researcher.id });
      const payload = data.follow || data.unfollow;
      follows = payload.researcher.viewerFollows;
      text.textContent = follows ? "Unfollow researcher" : "Follow researcher";
    } catch (error) {
      fill(status, notice(error.message, "error"));
    } finally {
      button.disabled = false;
    }
  });
  return { block: h("div", {}, button, status), count };
}

function vouchButton(researcher) {
  const button = h("button", { type: "button", class: "secondary" }, "Vouch for this researcher");
  const status = h("div", { class: "form-status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await graphql("viewer_actions", "Vouch", { id: researcher.id });
      fill(status, notice("Thank you: your vouch counts toward their trust.", "good"));
    } catch (error) {
      fill(status, notice(error.message, "error"));
      button.disabled = false;
    }
  });
  return h("div", {}, button, status);
}

/** After the ORCID round trip (`?claim=` from the callback): what the stored data says, never
 * what the URL claims, so a crafted link cannot show a false success. */
function claimOutcome(params, researcher, viewer) {
  const outcome = params.get("claim");
  const holder = viewer && viewer.claimedResearcher && viewer.claimedResearcher.id === researcher.id;
  if (outcome === "verified" && holder) {
    return notice(`Claim verified: the ORCID iD you signed in with is this record's, so it is linked to your account ${viewer.email} now.`, "good");
  }
  if (outcome === "verified" && researcher.trust && researcher.trust.claimed) {
    return notice("Claim verified: this record is linked to the account that claimed it.", "good");
  }
  if (outcome === "rejected" && !holder) {
    return notice("Claim rejected: the ORCID iD you signed in with is not this record's.", "error");
  }
  return null;
}

export async function profileView(main, { args, params }) {
  const id = args[0];
  let data;
  try {
    data = await graphql("profile_page", "ProfilePage", { id });
  } catch (error) {
    failure(main, error);
    return null;
  }
  const researcher = data.researcher;
  if (!researcher) {
    failure(main, { code: "NOT_FOUND", message: "No researcher has this id." });
    return null;
  }
  document.title = `${researcher.displayName} · BZPEER`;
  const here = location.pathname;
  const trustList = h("ul", { class: "badges", "aria-label": "Trust" }, trustBadges(researcher.trust));
  const factors = h("div", {}, trustFactors(researcher.trust));
  const counts = researcher.counts;
  const follow = followBlock(researcher, counts.followers);
  const actions = h("div", { class: "actions" }, follow.block);
  const identity = h("div", {});
  const graph = graphSection(researcher);

  const outcome = h("div", {});
  fill(
    main,
    outcome,
    h(
      "article",
      { class: "profile" },
      profileHeader(researcher),
      card(
        "trust",
        "Trust snapshot",
        "Quick read",
        trustList,
        h(
          "dl",
          { class: "counters" },
          counter(counts.works, "works", "works"),
          counter(counts.followers, "followers", "followers"),
          counter(counts.topics, "topics", "topics"),
          counter(counts.closeCollaborators, "close collaborators", "collaborators"),
        ),
        factors,
      ),
      card("actions", "Actions", "Decide how to stay connected", actions),
      card(
        "identity",
        "Identity and collaboration",
        "How to connect with this researcher",
        h("p", {}, "Claiming links this public author record to a researcher profile and unlocks direct collaboration workflows."),
        identity,
      ),
      sideLists(researcher),
      graph.section,
      worksSection(researcher),
    ),
  );

  const followerCounts = () => main.querySelectorAll('[data-count="followers"], [data-count="follow-button"]');
  const setFollowers = (value) => {
    for (const element of followerCounts()) element.textContent = String(value);
  };
  const setTrust = (trust) => {
    fill(trustList, trustBadges(trust));
    fill(factors, trustFactors(trust));
  };
  const resync = async () => {
    try {
      const fresh = (await graphql("profile_page", "ProfilePage", { id })).researcher;
      setFollowers(fresh.counts.followers);
      setTrust(fresh.trust);
    } catch {
      // The next live message or visit brings it.
    }
  };
  const live = new LiveConnection();
  live.subscribe("follower_updates", "FollowerUpdates", { id }, (message) => setFollowers(message.followerUpdates.followers), resync);
  live.subscribe("trust_updates", "TrustUpdates", { id }, (message) => setTrust(message.trustUpdates), resync);

  currentViewer().then((viewer) => {
    fill(outcome, claimOutcome(params, researcher, viewer));
    const blocks = identityBlocks(researcher, viewer, here);
    fill(
      identity,
      blocks.claim,
      h("h3", { class: "spaced" }, "Direct collaboration"),
      h("p", { class: "eyebrow" }, "Open a focused conversation when the fit is right"),
      blocks.collaboration,
    );
    const mine = viewer && viewer.claimedResearcher && viewer.claimedResearcher.id === researcher.id;
    if (viewer && viewer.claimedResearcher && !mine) actions.append(vouchButton(researcher));
  });
  loadSlice(graph.holder, id, id);
  return () => live.close();
}

export async function exploreView(main, { args }) {
  const id = args[0];
  const depth = h("select", { id: "explore-depth", name: "depth" }, [1, 2, 3].map((n) => h("option", { value: n, selected: n === 2 }, `${n} hop(s)`)));
  const limit = h("select", { id: "explore-limit", name: "limit" }, [50, 100, 200].map((n) => h("option", { value: n, selected: n === 100 }, `${n} nodes`)));
  const holder = h("div", { class: "slice large", "aria-live": "polite" }, notice("Building the graph"));
  const controls = h(
    "form",
    { class: "controls", "aria-label": "Graph options" },
    h("div", { class: "field" }, h("label", { for: "explore-depth" }, "Depth"), depth),
    h("div", { class: "field" }, h("label", { for: "explore-limit" }, "Size"), limit),
  );
  document.title = "Graph explorer · BZPEER";
  fill(
    main,
    h("h1", {}, "Graph explorer"),
    h("p", {}, h("a", { href: profilePath(id) }, "Back to the profile")),
    controls,
    holder,
  );
  const draw = () => loadSlice(holder, id, id, { depth: Number(depth.value), limit: Number(limit.value) });
  controls.addEventListener("change", draw);
  await draw();
  return null;
}
