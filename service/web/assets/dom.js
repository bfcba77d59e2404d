// Building the page from data without ever parsing markup: every string becomes a text node or
// an attribute value, so names and abstracts (untrusted input) can only be text. The page's
// Content-Security-Policy (Trusted Types) makes innerHTML and friends throw as a second guard.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children: strings and numbers as text, nodes as they are, arrays flattened. */
export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: `h("a", {href: "/"}, "Home")`. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** "UNVERIFIED" -> "Unverified", "BOOK_CHAPTER" -> "Book chapter". */
export function label(value) {
  const words = String(value).toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "PREPRINT" -> "preprint", as the seed page prints a work's type. */
export function lower(value) {
  return String(value).toLowerCase().replaceAll("_", " ");
}

/** A path to a researcher's profile. */
export function profilePath(id) {
  return `/researchers/${encodeURIComponent(id)}`;
}

/** A live message for screen readers and eyes: `status(el, "Saved")`. */
export function notice(text, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A labelled form field. */
export function field(id, text, attrs = {}) {
  const control =
    attrs.type === "textarea"
      ? h("textarea", { id, name: id, ...attrs, type: null })
      : h("input", { id, name: id, ...attrs });
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}
