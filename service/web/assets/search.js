// The home page and search: the search box's ranked list across kinds, researchers by name, and
// works with filters and the facet sidebar (each facet value is a filter link).
import { graphql } from "./api.js";
import { fill, h, label, lower, notice, profilePath } from "./dom.js";

const WORK_FILTERS = ["yearFrom", "yearTo", "type", "venue", "topic", "institution"];
const FACETS = [
  ["byYear", "Year", "year"],
  ["byType", "Type", "type"],
  ["byTopic", "Topic", "topic"],
  ["byVenue", "Venue", "venue"],
  ["byInstitution", "Institution", "institution"],
];
const TABS = [
  ["all", "Everything"],
  ["researchers", "Researchers"],
  ["works", "Works"],
];

function researcherRow(node) {
  const about = [node.affiliation ? node.affiliation.displayName : "Affiliation not imported"];
  if (node.counts) about.push(`${node.counts.works} work(s)`);
  if (node.trust) about.push(`trust ${node.trust.score}`);
  return h("li", { class: "result" }, h("a", { href: profilePath(node.id) }, node.displayName), h("span", { class: "muted" }, ` · ${about.join(" · ")}`));
}

function resultRow(node) {
  switch (node.__typename) {
    case "Researcher":
      return researcherRow(node);
    case "Work":
      return h("li", { class: "result" }, h("span", { class: "kind" }, "Work"), ` ${node.title}`, node.publicationYear ? h("span", { class: "muted" }, ` · ${node.publicationYear}`) : null);
    case "Topic":
      return h("li", { class: "result" }, h("span", { class: "kind" }, label(node.level || "Topic")), ` ${node.displayName}`);
    case "Institution":
      return h("li", { class: "result" }, h("span", { class: "kind" }, "Institution"), ` ${node.displayName}`, node.countryCode ? h("span", { class: "muted" }, ` · ${node.countryCode}`) : null);
    case "Venue":
      return h("li", { class: "result" }, h("span", { class: "kind" }, "Venue"), ` ${node.displayName}`);
    default:
      return null;
  }
}

function workRow(node) {
  const authors = node.authorships.slice(0, 6).map((authorship, i) => [i ? ", " : "", h("a", { href: profilePath(authorship.author.id) }, authorship.author.displayName)]);
  const more = node.authorships.length > 6 ? ` and ${node.authorships.length - 6} more` : "";
  return h(
    "li",
    { class: "work" },
    h("p", { class: "meta" }, [lower(node.type), node.publicationYear, node.venue && node.venue.displayName, `${node.citedByCount} citation(s)`].filter(Boolean).map((part) => h("span", {}, String(part)))),
    h("h3", {}, node.title),
    authors.length ? h("p", { class: "authors" }, authors, more) : null,
  );
}

/** A list that pages with "More results". `load(after)` answers `{items, pageInfo}`. */
async function pagedList(container, list, load) {
  const more = h("button", { type: "button" }, "More results");
  const step = async (after) => {
    more.disabled = true;
    const page = await load(after);
    for (const item of page.items) if (item) list.append(item);
    more.disabled = false;
    if (page.pageInfo.hasNextPage) {
      more.onclick = () => step(page.pageInfo.endCursor).catch((error) => more.replaceWith(notice(error.message, "error")));
      container.append(more);
    } else {
      more.remove();
    }
    return page;
  };
  return step(null);
}

export async function homeView(main) {
  document.title = "BZPEER research graph";
  const lists = h("div", { class: "columns" });
  fill(
    main,
    h("section", { class: "hero" }, h("h1", {}, "Explore the research graph"), h("p", { class: "lead" }, "Researchers, their works, topics and institutions, with trust you can check and collaborators you can reach.")),
    lists,
  );
  const blocks = [
    ["TRUST", "Most trusted"],
    ["FOLLOWERS", "Most followed"],
  ];
  await Promise.all(
    blocks.map(async ([orderBy, heading]) => {
      const section = h("section", { class: "card", "aria-label": heading }, h("h2", {}, heading));
      lists.append(section);
      try {
        const data = await graphql("researcher_list", "ResearcherList", { orderBy, first: 8 });
        section.append(h("ol", { class: "results" }, data.researchers.edges.map((edge) => researcherRow(edge.node))));
      } catch (error) {
        section.append(notice(error.message, "error"));
      }
    }),
  );
  return null;
}

function tabs(query, active) {
  return h(
    "nav",
    { class: "tabs", "aria-label": "What to search" },
    TABS.map(([kind, text]) =>
      h("a", { href: `/search?${new URLSearchParams({ q: query, kind })}`, "aria-current": kind === active ? "page" : null }, text),
    ),
  );
}

function workFilter(params) {
  const filter = {};
  for (const name of WORK_FILTERS) {
    const value = params.get(name);
    if (!value) continue;
    filter[name] = name.startsWith("year") ? Number(value) : value;
  }
  return filter;
}

function facetSidebar(facets, params) {
  return h(
    "aside",
    { class: "facets", "aria-label": "Filters" },
    h("h2", {}, "Filter"),
    FACETS.map(([key, title, filterName]) => {
      const values = facets[key];
      if (!values.length) return null;
      return h(
        "section",
        { "aria-label": title },
        h("h3", {}, title),
        h(
          "ul",
          {},
          values.map((bucket) => {
            const next = new URLSearchParams(params);
            if (filterName === "year") {
              next.set("yearFrom", bucket.value);
              next.set("yearTo", bucket.value);
            } else {
              next.set(filterName, bucket.value);
            }
            return h("li", {}, h("a", { href: `/search?${next}` }, bucket.label || bucket.value), h("span", { class: "muted" }, ` ${bucket.count}`));
          }),
        ),
      );
    }),
  );
}

function activeFilters(params) {
  const chips = WORK_FILTERS.filter((name) => params.get(name)).map((name) => {
    const next = new URLSearchParams(params);
    next.delete(name);
    return h("li", {}, h("a", { href: `/search?${next}`, "aria-label": `Remove filter ${name} ${params.get(name)}` }, `${name}: ${params.get(name)} ×`));
  });
  return chips.length ? h("ul", { class: "chips", "aria-label": "Filters in use" }, chips) : null;
}

async function worksResults(body, query, params, navigate) {
  const orderBy = params.get("orderBy") || (query ? "RELEVANCE" : "YEAR");
  const order = h(
    "select",
    { id: "works-order", name: "orderBy" },
    ["RELEVANCE", "YEAR", "CITATIONS"].map((value) => h("option", { value, selected: value === orderBy }, label(value))),
  );
  order.addEventListener("change", () => {
    const next = new URLSearchParams(params);
    next.set("orderBy", order.value);
    navigate(`/search?${next}`);
  });
  const list = h("ol", { class: "works" });
  const results = h("div", { class: "results-column" });
  const layout = h("div", { class: "with-sidebar" }, results);
  fill(body, layout);
  let first = true;
  await pagedList(results, list, async (after) => {
    const data = await graphql("works_search", "WorksSearch", { q: query || null, filter: workFilter(params), orderBy, after });
    const works = data.works;
    if (first) {
      first = false;
      layout.prepend(facetSidebar(works.facets, params));
      results.append(
        h("p", { role: "status" }, `${works.totalCount}${works.countsAreExact ? "" : "+"} work(s)`),
        activeFilters(params),
        h("div", { class: "field inline" }, h("label", { for: "works-order" }, "Order by"), order),
        list,
      );
    }
    return { items: works.edges.map((edge) => workRow(edge.node)), pageInfo: works.pageInfo };
  });
}

export async function searchView(main, { params, navigate }) {
  const query = (params.get("q") || "").trim();
  const kind = params.get("kind") || "all";
  document.title = query ? `${query} · Search · BZPEER` : "Search · BZPEER";
  const body = h("div", { class: "search-body" });
  fill(main, h("h1", {}, query ? `Results for “${query}”` : "Search"), tabs(query, kind), body);
  try {
    if (kind === "works") {
      await worksResults(body, query, params, navigate);
    } else if (!query) {
      fill(body, h("p", {}, "Type a name, a title or a topic in the search box."));
    } else if (kind === "researchers") {
      const list = h("ol", { class: "results" });
      fill(body, list);
      await pagedList(body, list, async (after) => {
        const data = await graphql("researcher_search", "ResearcherSearch", { q: query, first: 20, after });
        const found = data.researchers;
        if (!after) list.before(h("p", { role: "status" }, `${found.totalCount} researcher(s)`));
        return { items: found.edges.map((edge) => researcherRow(edge.node)), pageInfo: found.pageInfo };
      });
    } else {
      const list = h("ol", { class: "results" });
      fill(body, list);
      const page = await pagedList(body, list, async (after) => {
        const data = await graphql("search_box", "SearchBox", { text: query, first: 20, after });
        return { items: data.search.edges.map((edge) => resultRow(edge.node)), pageInfo: data.search.pageInfo, empty: !data.search.edges.length };
      });
      if (page.empty) list.replaceWith(h("p", { role: "status" }, "Nothing matches. Try fewer or other words."));
    }
  } catch (error) {
    fill(body, notice(error.message, "error"));
  }
  return null;
}
