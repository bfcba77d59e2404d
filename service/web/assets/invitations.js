// Invitations to collaborate received by the signed-in person's claimed record.
import { graphql } from "./api.js";
import { fill, h, label, notice, profilePath } from "./dom.js";

function when(value) {
  return value ? new Date(value).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "";
}

function invitationItem(invitation) {
  const status = h("p", { class: "muted" }, `${label(invitation.status)} · ${when(invitation.createdAt)}`);
  const item = h(
    "li",
    { class: "card invitation" },
    h("p", {}, "From ", h("a", { href: profilePath(invitation.sender.id) }, invitation.sender.displayName)),
    h("blockquote", {}, invitation.message),
    status,
  );
  if (invitation.status === "PENDING") {
    const answer = h("div", { class: "row" });
    const respond = async (accept) => {
      for (const button of answer.querySelectorAll("button")) button.disabled = true;
      try {
        const data = await graphql("invitations", "RespondToInvitation", { id: invitation.id, accept });
        const updated = data.respondToInvitation.invitation;
        status.textContent = `${label(updated.status)} · ${when(updated.respondedAt)}`;
        answer.remove();
      } catch (error) {
        fill(answer, notice(error.message, "error"));
      }
    };
    answer.append(
      h("button", { type: "button", onclick: () => respond(true) }, "Accept"),
      h("button", { type: "button", class: "secondary", onclick: () => respond(false) }, "Decline"),
    );
    item.append(answer);
  }
  return item;
}

export async function invitationsView(main) {
  document.title = "Invitations · BZPEER";
  let data;
  try {
    data = await graphql("invitations", "Invitations", {});
  } catch (error) {
    fill(main, h("h1", {}, "Invitations"), notice(error.message, "error"));
    return null;
  }
  const viewer = data.viewer;
  if (!viewer) {
    const next = encodeURIComponent("/invitations");
    fill(main, h("h1", {}, "Invitations"), h("p", {}, h("a", { href: `/sign-in?next=${next}` }, "Sign in"), " to see your invitations."));
    return null;
  }
  const edges = viewer.invitations.edges;
  fill(
    main,
    h("h1", {}, "Invitations"),
    viewer.claimedResearcher
      ? h("p", {}, "Sent to your record ", h("a", { href: profilePath(viewer.claimedResearcher.id) }, viewer.claimedResearcher.displayName), ".")
      : h("p", {}, "Claim your author record to receive invitations."),
    edges.length
      ? h("ol", { class: "stack" }, edges.map((edge) => invitationItem(edge.node)))
      : h("p", { role: "status" }, "No invitations yet."),
  );
  return null;
}
