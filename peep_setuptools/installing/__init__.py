"""Installing: plan, fetch and verify, cache, verdicts and report, builds, installer backends."""
