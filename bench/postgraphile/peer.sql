-- What PostGraphile needs to serve the profile page over the same database: computed columns
-- (functions named <table>_<field>, whose first argument is the table's row) for what our
-- service derives in its resolvers. Same orderings and filters as the service's statements.
-- Idempotent; bench/profile_page.py --peer postgraphile runs it before starting the peer.

CREATE OR REPLACE FUNCTION public.researchers_current_trust(r public.researchers)
RETURNS public.trust_snapshots LANGUAGE sql STABLE AS $$
    SELECT t.* FROM public.trust_snapshots AS t WHERE t.researcher_id = r.id AND t.is_current
$$;

CREATE OR REPLACE FUNCTION public.researchers_recent_works(r public.researchers)
RETURNS SETOF public.works LANGUAGE sql STABLE AS $$
    SELECT w.* FROM public.authorships AS a JOIN public.works AS w ON w.id = a.work_id
    WHERE a.researcher_id = r.id
    ORDER BY coalesce(w.publication_year, 0) DESC, w.id DESC
$$;

CREATE OR REPLACE FUNCTION public.researchers_top_topics(r public.researchers)
RETURNS SETOF public.topics LANGUAGE sql STABLE AS $$
    SELECT t.* FROM public.researcher_topics AS rt JOIN public.topics AS t ON t.id = rt.topic_id
    WHERE rt.researcher_id = r.id
    ORDER BY rt.work_count DESC, rt.topic_id DESC
$$;

CREATE OR REPLACE FUNCTION public.researchers_close_collaborations(r public.researchers)
RETURNS SETOF public.coauthor_edges LANGUAGE sql STABLE AS $$
    SELECT e.* FROM public.coauthor_edges AS e JOIN public.researchers AS c ON c.id = e.coauthor_id
    WHERE e.researcher_id = r.id AND c.cluster_id = r.cluster_id
    ORDER BY e.weight DESC, e.coauthor_id DESC
$$;

CREATE OR REPLACE FUNCTION public.coauthor_edges_coauthor(e public.coauthor_edges)
RETURNS public.researchers LANGUAGE sql STABLE AS $$
    SELECT c.* FROM public.researchers AS c WHERE c.id = e.coauthor_id
$$;
