"""``python -m basin.orchestration.prefect.runner <basin.yml>``: register the project's
deployments with the Prefect server (``PREFECT_API_URL``) and run their flow runs until
stopped — the runner ``basin serve --orchestrator prefect`` starts. Apart from
``flows.py`` so that the flows load by their module path, not as ``__main__``."""

import sys

from basin.orchestration.prefect.flows import serve_project

if __name__ == "__main__":
    serve_project(sys.argv[1])
