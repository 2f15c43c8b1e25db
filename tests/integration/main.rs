//! Integration tests: each runs the real binary against its own SQLite file.

mod bench_embed;
mod bench_scan;
mod bench_slots;
#[macro_use]
mod common;
mod openai_server;
mod slot_storm;
mod test_agent_ergonomics;
// The agent documents are run with `sh`.
#[cfg(unix)]
mod test_agents;
mod test_backup;
mod test_chat_extract;
mod test_concurrency;
mod test_database_file;
mod test_deep_research;
mod test_describe;
mod test_enrich;
mod test_errors;
mod test_exec;
mod test_fts_sync;
mod test_graph;
mod test_graph_adversarial;
mod test_graph_export;
mod test_http_adversarial;
mod test_http_embed;
mod test_http_reindex;
mod test_import_export;
#[cfg(unix)]
mod test_import_progress;
mod test_ingest;
// The fake tools are Python scripts run as programs.
#[cfg(unix)]
mod test_enrich_run;
#[cfg(unix)]
mod test_llm;
#[cfg(unix)]
mod test_llm_adversarial;
#[cfg(unix)]
mod test_llm_extract;
mod test_mcp;
mod test_memory_commands;
mod test_namespaces;
mod test_retrieval;
mod test_slot_robustness;
mod test_slot_security;
mod test_slots;
mod test_tls;
mod test_vector_blocks;
mod test_write_log;
