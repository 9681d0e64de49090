"""Quality gates: check results, severity policy, expectation suites, reports."""
