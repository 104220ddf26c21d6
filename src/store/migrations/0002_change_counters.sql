-- Counters bumped by triggers so any process can tell, cheaply, that admin configuration or the
-- event log changed (read after PRAGMA data_version reports a foreign commit).
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config_version INTEGER NOT NULL DEFAULT 0,
    events_version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO meta (id) VALUES (1);
CREATE TRIGGER flows_insert_config AFTER INSERT ON flows BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER flows_update_config AFTER UPDATE ON flows BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER flows_delete_config AFTER DELETE ON flows BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER stages_insert_config AFTER INSERT ON stages BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER stages_update_config AFTER UPDATE ON stages BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER stages_delete_config AFTER DELETE ON stages BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER prompts_insert_config AFTER INSERT ON prompts BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER prompts_update_config AFTER UPDATE ON prompts BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER prompts_delete_config AFTER DELETE ON prompts BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER flow_stage_bindings_insert_config AFTER INSERT ON flow_stage_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER flow_stage_bindings_update_config AFTER UPDATE ON flow_stage_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER flow_stage_bindings_delete_config AFTER DELETE ON flow_stage_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policies_insert_config AFTER INSERT ON policies BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policies_update_config AFTER UPDATE ON policies BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policies_delete_config AFTER DELETE ON policies BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER users_insert_config AFTER INSERT ON users BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_config AFTER UPDATE ON users BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_config AFTER DELETE ON users BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER groups_insert_config AFTER INSERT ON groups BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER groups_update_config AFTER UPDATE ON groups BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER groups_delete_config AFTER DELETE ON groups BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_insert_config AFTER INSERT ON group_members BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_update_config AFTER UPDATE ON group_members BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_delete_config AFTER DELETE ON group_members BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_bindings_insert_config AFTER INSERT ON policy_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_bindings_update_config AFTER UPDATE ON policy_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER policy_bindings_delete_config AFTER DELETE ON policy_bindings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER certificate_keypairs_insert_config AFTER INSERT ON certificate_keypairs BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER certificate_keypairs_update_config AFTER UPDATE ON certificate_keypairs BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER certificate_keypairs_delete_config AFTER DELETE ON certificate_keypairs BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER scope_mappings_insert_config AFTER INSERT ON scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER scope_mappings_update_config AFTER UPDATE ON scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER scope_mappings_delete_config AFTER DELETE ON scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER providers_insert_config AFTER INSERT ON providers BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER providers_update_config AFTER UPDATE ON providers BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER providers_delete_config AFTER DELETE ON providers BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER provider_scope_mappings_insert_config AFTER INSERT ON provider_scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER provider_scope_mappings_update_config AFTER UPDATE ON provider_scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER provider_scope_mappings_delete_config AFTER DELETE ON provider_scope_mappings BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_insert_config AFTER INSERT ON applications BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_update_config AFTER UPDATE ON applications BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER applications_delete_config AFTER DELETE ON applications BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER brands_insert_config AFTER INSERT ON brands BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER brands_update_config AFTER UPDATE ON brands BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER brands_delete_config AFTER DELETE ON brands BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER connectors_insert_config AFTER INSERT ON connectors BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER connectors_update_config AFTER UPDATE ON connectors BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER connectors_delete_config AFTER DELETE ON connectors BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER enrollment_tokens_insert_config AFTER INSERT ON enrollment_tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER enrollment_tokens_update_config AFTER UPDATE ON enrollment_tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER enrollment_tokens_delete_config AFTER DELETE ON enrollment_tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER endpoint_devices_insert_config AFTER INSERT ON endpoint_devices BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER endpoint_devices_update_config AFTER UPDATE ON endpoint_devices BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER endpoint_devices_delete_config AFTER DELETE ON endpoint_devices BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_insert_config AFTER INSERT ON tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_update_config AFTER UPDATE ON tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_delete_config AFTER DELETE ON tokens BEGIN UPDATE meta SET config_version = config_version + 1 WHERE id = 1; END;
CREATE TRIGGER events_insert_counter AFTER INSERT ON events BEGIN UPDATE meta SET events_version = events_version + 1 WHERE id = 1; END;
