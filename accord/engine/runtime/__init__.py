"""The runtime: project config, Engine, state stores, ledgers, dead-letter store and audit."""
