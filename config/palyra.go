package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
)

// PalyraSchemaSource names where palyraSchema was transcribed from: the
// Rust reference implementation's schema of palyra.toml, which refuses
// every key it does not list (serde deny_unknown_fields, at every level).
const PalyraSchemaSource = "tomasmarekk/Palyra crates/palyra-common/src/daemon_config_schema.rs (1e2f4d1f)"

// palyraSchema is Palyra's schema of palyra.toml, one entry per table
// type: "key:type …", where a type is s (string), b (bool), u16, u32, u64
// or i64 (integers in those ranges), ls (array of strings), ref (a
// SecretRef table), the name of another entry (a table) or such a name in
// brackets (an array of tables). "" is the root.
var palyraSchema = map[string]string{
	"": "version:u32 deployment:deployment daemon:daemon gateway:gateway gateway_access:gateway_access " +
		"feature_rollouts:feature_rollouts session_queue_policy:session_queue_policy pruning_policy_matrix:pruning_policy_matrix " +
		"retrieval_dual_path:retrieval_dual_path auxiliary_executor:auxiliary_executor flow_orchestration:flow_orchestration " +
		"delivery_arbitration:delivery_arbitration replay_capture:replay_capture networked_workers:networked_workers cron:cron " +
		"orchestrator:orchestrator memory:memory media:media model_provider:model_provider tool_call:tool_call " +
		"channel_router:channel_router canvas_host:canvas_host admin:admin identity:identity storage:storage",
	"deployment": "profile:s mode:s dangerous_remote_bind_ack:b",
	"daemon":     "bind_addr:s port:u16",
	"gateway": "grpc_bind_addr:s grpc_port:u16 quic_bind_addr:s quic_port:u16 quic_enabled:b bind_profile:s allow_insecure_remote:b " +
		"identity_store_dir:s vault_get_approval_required_refs:ls max_tape_entries_per_response:u64 max_tape_bytes_per_response:u64 tls:gateway_tls",
	"gateway_tls":    "enabled:b cert_path:s key_path:s client_ca_path:s",
	"gateway_access": "remote_base_url:s pinned_server_cert_fingerprint_sha256:s pinned_gateway_ca_fingerprint_sha256:s",
	"feature_rollouts": "dynamic_tool_builder:b context_engine:b execution_backend_remote_node:b execution_backend_networked_worker:b " +
		"execution_backend_ssh_tunnel:b safety_boundary:b execution_gate_pipeline_v2:b session_queue_policy:b pruning_policy_matrix:b " +
		"retrieval_dual_path:b auxiliary_executor:b flow_orchestration:b delivery_arbitration:b replay_capture:b networked_workers:b",
	"session_queue_policy":  "mode:s max_depth:u64 merge_window_ms:u64",
	"pruning_policy_matrix": "mode:s manual_apply_enabled:b min_token_savings:u64",
	"retrieval_dual_path":   "mode:s branch_timeout_ms:u64 prompt_budget_tokens:u64",
	"auxiliary_executor":    "mode:s max_tasks_per_session:u64 default_budget_tokens:u64",
	"flow_orchestration":    "mode:s cancellation_gate_enabled:b max_retry_count:u32",
	"delivery_arbitration":  "mode:s descendant_preference:b suppression_limit:u32",
	"replay_capture":        "mode:s capture_runtime_decisions:b max_events_per_run:u64",
	"networked_workers": "mode:s lease_ttl_ms:u64 require_attestation:b expected_image_digest_sha256:s " +
		"expected_build_digest_sha256:s expected_artifact_digest_sha256:s",
	"cron":               "timezone:s",
	"orchestrator":       "runloop_v1_enabled:b",
	"memory":             "max_item_bytes:u64 max_item_tokens:u64 default_ttl_ms:i64 auto_inject:memory_auto_inject retention:memory_retention retrieval:memory_retrieval",
	"memory_auto_inject": "enabled:b max_items:u64",
	"memory_retention":   "max_entries:u64 max_bytes:u64 ttl_days:u32 vacuum_schedule:s",
	"memory_retrieval":   "backend:retrieval_backend scoring:retrieval_scoring",
	"retrieval_backend":  "kind:s",
	"retrieval_scoring": "phrase_match_bonus_bps:u16 default_profile:scoring_profile memory:scoring_profile workspace:scoring_profile " +
		"transcript:scoring_profile checkpoint:scoring_profile compaction:scoring_profile",
	"scoring_profile": "lexical_bps:u16 vector_bps:u16 recency_bps:u16 source_quality_bps:u16 min_recency_bps:u16 min_source_quality_bps:u16 pinned_bonus_bps:u16",
	"media": "download_enabled:b outbound_upload_enabled:b allow_http_fixture_urls:b max_attachments_per_message:u64 " +
		"max_total_attachment_bytes_per_message:u64 max_download_bytes:u64 max_redirects:u64 allowed_source_hosts:ls " +
		"allowed_download_content_types:ls vision_allowed_content_types:ls vision_max_image_count:u64 vision_max_image_bytes:u64 " +
		"vision_max_total_bytes:u64 vision_max_dimension_px:u32 outbound_allowed_content_types:ls outbound_max_upload_bytes:u64 " +
		"store_max_bytes:u64 store_max_artifacts:u64 retention_ttl_ms:i64",
	"model_provider": "kind:s openai_base_url:s anthropic_base_url:s allow_private_base_url:b openai_model:s anthropic_model:s " +
		"openai_embeddings_model:s openai_embeddings_dims:u32 openai_api_key:s openai_api_key_secret_ref:ref openai_api_key_vault_ref:s " +
		"anthropic_api_key:s anthropic_api_key_secret_ref:ref anthropic_api_key_vault_ref:s auth_profile_id:s auth_profile_ref:s " +
		"auth_provider_kind:s request_timeout_ms:u64 max_retries:u32 retry_backoff_ms:u64 circuit_breaker_failure_threshold:u32 " +
		"circuit_breaker_cooldown_ms:u64 providers:[provider] models:[model] default_chat_model_id:s default_embeddings_model_id:s " +
		"default_audio_transcription_model_id:s failover_enabled:b response_cache_enabled:b response_cache_ttl_ms:u64 " +
		"response_cache_max_entries:u64 discovery_ttl_ms:u64 health_ttl_ms:u64",
	"provider": "provider_id:s display_name:s kind:s base_url:s allow_private_base_url:b enabled:b auth_profile_id:s " +
		"auth_provider_kind:s api_key:s api_key_secret_ref:ref api_key_vault_ref:s request_timeout_ms:u64 max_retries:u32 " +
		"retry_backoff_ms:u64 circuit_breaker_failure_threshold:u32 circuit_breaker_cooldown_ms:u64",
	"model": "model_id:s provider_id:s role:s enabled:b metadata_source:s operator_override:b tool_calls:b json_mode:b vision:b " +
		"audio_transcribe:b embeddings:b max_context_tokens:u32 cost_tier:s latency_tier:s recommended_use_cases:ls known_limitations:ls",
	"tool_call": "allowed_tools:ls max_calls_per_run:u32 execution_timeout_ms:u64 process_runner:process_runner " +
		"wasm_runtime:wasm_runtime http_fetch:http_fetch browser_service:browser_service",
	"http_fetch": "allow_private_targets:b connect_timeout_ms:u64 request_timeout_ms:u64 max_response_bytes:u64 allow_redirects:b " +
		"max_redirects:u32 allowed_content_types:ls allowed_request_headers:ls cache_enabled:b cache_ttl_ms:u64 max_cache_entries:u64",
	"browser_service": "enabled:b endpoint:s auth_token:s auth_token_secret_ref:ref state_dir:s state_key_secret_ref:ref " +
		"state_key_vault_ref:s connect_timeout_ms:u64 request_timeout_ms:u64 max_screenshot_bytes:u64 max_title_bytes:u64",
	"channel_router": "enabled:b max_message_bytes:u64 max_retry_queue_depth_per_channel:u64 max_retry_attempts:u32 " +
		"retry_backoff_ms:u64 default_response_prefix:s inbound_coalescing:inbound_coalescing routing:channel_routing",
	"inbound_coalescing": "enabled:b debounce_ms:u64 max_tracked_keys:u64 bypass_commands:b bypass_media:b",
	"canvas_host": "enabled:b public_base_url:s token_ttl_ms:u64 max_state_bytes:u64 max_bundle_bytes:u64 " +
		"max_assets_per_bundle:u32 max_updates_per_minute:u32",
	"channel_routing": "default_channel_enabled:b default_allow_direct_messages:b default_direct_message_policy:s " +
		"default_isolate_session_by_sender:b default_broadcast_strategy:s default_concurrency_limit:u64 channels:[channel_rule]",
	"channel_rule": "channel:s enabled:b mention_patterns:ls allow_from:ls deny_from:ls allow_direct_messages:b " +
		"direct_message_policy:s isolate_session_by_sender:b response_prefix:s auto_ack_text:s auto_reaction:s " +
		"broadcast_strategy:s concurrency_limit:u64",
	"process_runner": "enabled:b tier:s workspace_root:s allowed_executables:ls allow_interpreters:b egress_enforcement_mode:s " +
		"allowed_egress_hosts:ls allowed_dns_suffixes:ls cpu_time_limit_ms:u64 memory_limit_bytes:u64 max_output_bytes:u64",
	"wasm_runtime": "enabled:b allow_inline_modules:b max_module_size_bytes:u64 fuel_budget:u64 max_memory_bytes:u64 " +
		"max_table_elements:u64 max_instances:u64 allowed_http_hosts:ls allowed_secrets:ls allowed_storage_prefixes:ls allowed_channels:ls",
	"admin":    "require_auth:b auth_token:s auth_token_secret_ref:ref connector_token:s connector_token_secret_ref:ref bound_principal:s",
	"identity": "allow_insecure_node_rpc_without_mtls:b",
	"storage":  "journal_db_path:s journal_hash_chain_enabled:b max_journal_payload_bytes:u64 max_journal_events:u64 vault_dir:s",
}

// schemaTables is palyraSchema parsed: table type -> key -> type.
var schemaTables = sync.OnceValue(func() map[string]map[string]string {
	out := make(map[string]map[string]string, len(palyraSchema))
	for name, fields := range palyraSchema {
		m := map[string]string{}
		for _, f := range strings.Fields(fields) {
			k, typ, _ := strings.Cut(f, ":")
			m[k] = typ
		}
		out[name] = m
	}
	return out
})

// Incompatibility is one thing in a palyra.toml that Palyra would refuse.
// It never holds a value.
type Incompatibility struct {
	// Path is the dotted path of the key, as Walk writes it.
	Path string
	// Line is its 1-based line, 0 when unknown.
	Line int
	// Rule says what Palyra wants and what to write instead.
	Rule string
}

// ourDaemonKeys are this project's [daemon] settings, which Palyra refuses
// in palyra.toml: they belong in palyra-vault.toml (package daemon).
var ourDaemonKeys = []string{"allowed_uids", "readable_scopes", "trusted_dirs", "audit_max_bytes", "audit_keep",
	"socket_shared", "max_connections", "max_connections_per_uid", "principals"}

// PalyraIncompatibilities returns what in d Palyra's schema
// (PalyraSchemaSource) would refuse, by line: a key it does not know (one
// finding per key: what is inside an unknown table is not listed), a
// value of another type than it wants (our inline reference form where it
// wants a string, notably), an integer out of its range, a *_vault_ref in
// a form it does not read (vault://…, a scope with '/'), a *_secret_ref
// whose vault_ref is such a form or whose refresh_policy is on_change
// (ours alone), and this project's own [daemon] settings. A file with none is valid for Palyra as far as keys and types
// go (its own value rules, such as URL syntax, are not checked).
func PalyraIncompatibilities(d *Document) []Incompatibility {
	var out []Incompatibility
	add := func(path, rule string) {
		line := d.Line(path)
		if line == 0 { // an array of tables: its first element's header
			line = d.Line(indexPath(path, 0))
		}
		out = append(out, Incompatibility{Path: path, Line: line, Rule: rule})
	}
	var walk func(prefix, table string, m map[string]any)
	walk = func(prefix, table string, m map[string]any) {
		fields := schemaTables()[table]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			path := joinPath(prefix, k)
			typ, ok := fields[k]
			switch {
			case !ok && table == "daemon" && slices.Contains(ourDaemonKeys, k):
				add(path, "a palyra-vault setting, which Palyra refuses in palyra.toml's [daemon] table: move it to palyra-vault.toml beside palyra.toml (docs/DAEMON.md)")
				continue
			case !ok:
				where := "at the top level"
				if table != "" {
					where = "in this table"
				}
				add(path, "Palyra does not know this key "+where+", so it would refuse the file")
				continue
			}
			checkPalyraValue(path, k, typ, m[k], add, walk)
		}
	}
	walk("", "", d.Tree())
	slices.SortStableFunc(out, func(a, b Incompatibility) int { return a.Line - b.Line })
	return out
}

// checkPalyraValue checks the value v at path against the schema type typ.
func checkPalyraValue(path, key, typ string, v any, add func(path, rule string), walk func(prefix, table string, m map[string]any)) {
	switch typ {
	case "s":
		s, ok := v.(string)
		if !ok {
			if m, isMap := v.(map[string]any); isMap && resolve.IsRefTable(m) {
				add(path, "our inline reference form where Palyra wants a string, so it would refuse the file; write "+
					key+"_vault_ref = \"<scope>/<key>\" instead, or a table under "+key+"_secret_ref where Palyra's schema has one (docs/COMPAT.md)")
				return
			}
			add(path, "Palyra wants a string here, so it would refuse the file")
			return
		}
		if strings.HasSuffix(key, RefSuffix) {
			if rule := palyraVaultRefRule(s); rule != "" {
				add(path, rule)
			}
		}
	case "b":
		if _, ok := v.(bool); !ok {
			add(path, "Palyra wants true or false here, so it would refuse the file")
		}
	case "u16", "u32", "u64", "i64":
		lo, hi := int64(0), map[string]int64{"u16": math.MaxUint16, "u32": math.MaxUint32, "u64": math.MaxInt64, "i64": math.MaxInt64}[typ]
		if typ == "i64" {
			lo = math.MinInt64
		}
		n, ok := v.(int64)
		if !ok || n < lo || n > hi {
			add(path, fmt.Sprintf("Palyra wants an integer between %d and %d here, so it would refuse the file", lo, hi))
		}
	case "ls":
		l, ok := v.([]any)
		if ok {
			for _, e := range l {
				if _, isStr := e.(string); !isStr {
					ok = false
				}
			}
		}
		if !ok {
			add(path, "Palyra wants an array of strings here, so it would refuse the file")
		}
	case "ref":
		m, ok := v.(map[string]any)
		if !ok {
			add(path, "Palyra wants a SecretRef table tagged by kind here, so it would refuse the file")
			return
		}
		if s, isStr := m["vault_ref"].(string); isStr && m["kind"] == "vault" {
			if rule := palyraVaultRefRule(s); rule != "" {
				add(joinPath(path, "vault_ref"), rule)
			}
		}
		if m["refresh_policy"] == string(resolve.RefreshOnChange) {
			add(joinPath(path, "refresh_policy"), "on_change is this project's own refresh policy (following a shared vault's changes); "+
				"Palyra does not know it, so it would refuse the file: write on_reload where Palyra reads this file too (docs/REFERENCES.md)")
		}
	default:
		if elem, isArray := strings.CutPrefix(typ, "["); isArray {
			elem = strings.TrimSuffix(elem, "]")
			l, ok := v.([]any)
			if !ok {
				add(path, "Palyra wants an array of tables here, so it would refuse the file")
				return
			}
			for i, e := range l {
				em, isMap := e.(map[string]any)
				if !isMap {
					add(indexPath(path, i), "Palyra wants a table here, so it would refuse the file")
					continue
				}
				walk(indexPath(path, i), elem, em)
			}
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			add(path, "Palyra wants a table here, so it would refuse the file")
			return
		}
		walk(path, typ, m)
	}
}

// palyraVaultRefRule returns why Palyra would refuse s as the value of a
// vault reference field, or "": it reads only the bare "<scope>/<key>",
// split at the first '/', so neither the vault:// prefix nor a scope with
// '/' in it parses there.
func palyraVaultRefRule(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, secret.RefPrefix) {
		return "Palyra reads only the bare <scope>/<key> form here, not " + secret.RefPrefix + "…: drop the prefix"
	}
	if r, err := secret.ParseVaultRefField(s); err == nil && strings.Contains(r.Scope, "/") {
		return "Palyra's scopes have no '/': it splits <scope>/<key> at the first '/', so it reads this reference as another secret; use a scope without '/' for settings Palyra reads"
	}
	return ""
}
