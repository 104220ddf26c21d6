-- authentik's prompt fields may compute their placeholder and initial value with a Python
-- expression (issue 16): one flag for each, off for every field written before.
ALTER TABLE prompts ADD COLUMN placeholder_expression INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompts ADD COLUMN initial_value_expression INTEGER NOT NULL DEFAULT 0;
