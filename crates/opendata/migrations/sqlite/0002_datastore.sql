-- The DataStore: each resource in it has a table of its own named by the resource's id
-- (made by the room, not by migrations); its fields' order, types and labels are kept here.
CREATE TABLE od_ds_fields (
    resource_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    field_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (resource_id, position)
);
