-- The registry of configuration objects, with its lifecycle enforced by the database
-- itself: whatever client writes here (the adapter, psql, a migration gone wrong), a
-- published version keeps its content, statuses only move along the lifecycle and
-- nobody approves their own version.
--
-- Errors carry their own SQLSTATEs so the adapter can map them:
--   DQ001 lifecycle refused  -> LifecycleError
--   DQ002 content immutable  -> ConflictError
-- Runs with search_path set to the store's schema: no object here is schema-qualified.

CREATE TABLE config_objects (
    tenant      text        NOT NULL,
    environment text        NOT NULL,
    kind        text        NOT NULL,
    id          text        NOT NULL,
    version     text        NOT NULL,
    status      text        NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'approved', 'published', 'deprecated')),
    document    jsonb       NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    sha256      text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    approvals   jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(approvals) = 'array'),
    CONSTRAINT config_objects_key UNIQUE (tenant, environment, kind, id, version)
);

CREATE INDEX config_objects_by_kind ON config_objects (tenant, environment, kind, id);

CREATE FUNCTION config_objects_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    label text := format('%s %s@%s', OLD.kind, OLD.id, OLD.version);
    last_actor text;
    i integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN ('published', 'deprecated') THEN
            RAISE EXCEPTION '% is %: a version that was published is never deleted', label, OLD.status
                USING ERRCODE = 'DQ001';
        END IF;
        RETURN OLD;
    END IF;

    IF (NEW.tenant, NEW.environment, NEW.kind, NEW.id, NEW.version, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.tenant, OLD.environment, OLD.kind, OLD.id, OLD.version, OLD.created_by, OLD.created_at)
    THEN
        RAISE EXCEPTION '%: identity, author and creation time are immutable', label USING ERRCODE = 'DQ002';
    END IF;

    IF OLD.status <> 'draft'
       AND (NEW.document IS DISTINCT FROM OLD.document OR NEW.sha256 IS DISTINCT FROM OLD.sha256)
    THEN
        RAISE EXCEPTION '% is %: its content is immutable; publish a new version', label, OLD.status
            USING ERRCODE = 'DQ002';
    END IF;

    -- approvals are append-only: every earlier approval stays, in order
    IF jsonb_array_length(NEW.approvals) < jsonb_array_length(OLD.approvals) THEN
        RAISE EXCEPTION '%: approvals are append-only', label USING ERRCODE = 'DQ001';
    END IF;
    FOR i IN 0 .. jsonb_array_length(OLD.approvals) - 1 LOOP
        IF NEW.approvals -> i IS DISTINCT FROM OLD.approvals -> i THEN
            RAISE EXCEPTION '%: approvals are append-only', label USING ERRCODE = 'DQ001';
        END IF;
    END LOOP;

    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF (OLD.status, NEW.status) NOT IN (
            ('draft', 'approved'), ('approved', 'published'), ('approved', 'draft'), ('published', 'deprecated')
        ) THEN
            RAISE EXCEPTION '% is %; it cannot become %', label, OLD.status, NEW.status USING ERRCODE = 'DQ001';
        END IF;
        IF NEW.status = 'approved' THEN
            last_actor := NEW.approvals -> -1 ->> 'actor';
            IF jsonb_array_length(NEW.approvals) <= jsonb_array_length(OLD.approvals) OR last_actor IS NULL THEN
                RAISE EXCEPTION '%: approving it must record an approval', label USING ERRCODE = 'DQ001';
            END IF;
            IF last_actor = NEW.created_by THEN
                RAISE EXCEPTION '% was created by %: someone else must approve it', label, last_actor
                    USING ERRCODE = 'DQ001';
            END IF;
        END IF;
        IF NEW.status = 'published' AND jsonb_array_length(NEW.approvals) = 0 THEN
            RAISE EXCEPTION '% has no approval: approve it before publishing', label USING ERRCODE = 'DQ001';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER config_objects_guard
    BEFORE UPDATE OR DELETE ON config_objects
    FOR EACH ROW EXECUTE FUNCTION config_objects_guard();

-- TRUNCATE skips row triggers: refuse it while any version that was published is kept.
CREATE FUNCTION config_objects_no_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM config_objects WHERE status IN ('published', 'deprecated')) THEN
        RAISE EXCEPTION 'config_objects holds published versions: it cannot be truncated' USING ERRCODE = 'DQ001';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER config_objects_no_truncate
    BEFORE TRUNCATE ON config_objects
    FOR EACH STATEMENT EXECUTE FUNCTION config_objects_no_truncate();
