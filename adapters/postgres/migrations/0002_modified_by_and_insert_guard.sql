-- Who last changed a draft's content may not approve it either; and every new version
-- starts as a draft (published rows arrive only by promotion, carrying their approvals).
ALTER TABLE config_objects ADD COLUMN modified_by text;
UPDATE config_objects SET modified_by = created_by WHERE modified_by IS NULL;
ALTER TABLE config_objects ALTER COLUMN modified_by SET NOT NULL;

CREATE FUNCTION config_objects_insert_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'draft' OR (NEW.status = 'published' AND jsonb_array_length(NEW.approvals) > 0) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% %@%: a new version starts as a draft', NEW.kind, NEW.id, NEW.version USING ERRCODE = 'DQ001';
END
$$;

CREATE TRIGGER config_objects_insert_guard
    BEFORE INSERT ON config_objects
    FOR EACH ROW EXECUTE FUNCTION config_objects_insert_guard();

CREATE FUNCTION config_objects_modifier_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.modified_by IS DISTINCT FROM OLD.modified_by AND NEW.document IS NOT DISTINCT FROM OLD.document THEN
        RAISE EXCEPTION '% %@%: modified_by changes only with the content', OLD.kind, OLD.id, OLD.version
            USING ERRCODE = 'DQ002';
    END IF;
    IF NEW.status = 'approved' AND OLD.status <> 'approved'
       AND (NEW.approvals -> -1 ->> 'actor') = OLD.modified_by THEN
        RAISE EXCEPTION '% %@% was changed by %: someone else must approve it', OLD.kind, OLD.id, OLD.version,
            OLD.modified_by USING ERRCODE = 'DQ001';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER config_objects_modifier_guard
    BEFORE UPDATE ON config_objects
    FOR EACH ROW EXECUTE FUNCTION config_objects_modifier_guard();
