"""`basin kubernetes`: the KubernetesExecutor's pod template is a Pod the Kubernetes
provider reads (with its task container named "base"), every AIRFLOW__* setting it
writes is one Airflow knows, and no secret of the project lands in what it writes."""

from __future__ import annotations

from pathlib import Path


def test_the_rendered_pod_template_and_settings_are_what_airflow_reads(project: Path, cli) -> None:
    from airflow.configuration import conf
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    planted = "k8s-Planted-S3cret-55"
    (project / ".env").write_text(f"SHOP_TOKEN={planted}\n")
    done = cli("kubernetes", "--image", "registry.example/acme/proj:1.0", project=project)
    assert done.exit_code == 0, done.output
    folder = project / "kubernetes"

    pod = PodGenerator.deserialize_model_file(str(folder / "pod_template.yaml"))
    (base,) = pod.spec.containers
    assert base.name == "base" and base.image == "registry.example/acme/proj:1.0"
    assert [e.secret_ref.name for e in base.env_from] == ["basin-secrets", "airflow-metadata"]
    assert pod.spec.security_context.run_as_non_root is True
    assert base.working_dir == "/opt/basin/project"

    conf.load_providers_configuration()
    settings = dict(
        line.split("=", 1)
        for line in (folder / "airflow.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["AIRFLOW__CORE__EXECUTOR"] == "KubernetesExecutor"
    for name in settings:
        section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
        assert conf.has_option(section, key), name
    template = settings["AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE"]
    assert template == "/opt/basin/project/kubernetes/pod_template.yaml"
    dockerfile = (folder / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "requirements.txt" in dockerfile  # the file basin init writes

    for path in folder.iterdir():
        assert planted not in path.read_text(), path

    outside = cli(
        "kubernetes", "--image", "x:1", "--out", str(project.parent / "k8s"), project=project
    )
    assert outside.exit_code == 1 and "outside the project" in outside.output


def test_the_image_is_required(project: Path, cli) -> None:
    done = cli("kubernetes", project=project)
    assert done.exit_code == 2 and "--image" in done.output
