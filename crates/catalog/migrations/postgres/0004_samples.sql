-- Samples (样表): a filled-in example of a material, uploaded by the matter's department
-- administrator and offered beside the material on the guide and the apply page. The file
-- itself is in the sealed file store under its SM3 digest. Kept apart from the matter so
-- that re-importing a catalogue keeps them.
CREATE TABLE material_samples (
    matter_code TEXT NOT NULL,
    material_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    PRIMARY KEY (matter_code, material_key)
);
