"""The command-line reference, generated from the Typer app (for the documentation
site), so it says exactly what ``basin <command> --help`` says."""

from __future__ import annotations

from typing import Any


def markdown() -> str:
    """One section per command (sub-commands included): usage, help, options."""
    from basin.cli.main import command

    root = command()
    lines = [
        "# Command-line reference",
        "",
        "Generated from the `basin` command itself; `basin <command> --help` prints the same.",
        "",
    ]
    lines += _command(root, "basin", top=True)
    return "\n".join(lines)


def _command(cmd: Any, name: str, *, top: bool = False) -> list[str]:
    # Typer vendors its own click: its classes are read by their interface.
    ctx = cmd.context_class(cmd, info_name=name)
    lines = [f"## `{name}`", ""] if not top else ["## `basin` (options of every command)", ""]
    lines += ["```", " ".join(cmd.collect_usage_pieces(ctx)).join([f"{name} ", ""]), "```", ""]
    if cmd.help:
        lines += [_text(part) + "\n" for part in cmd.help.split("\n\n") if part.strip()]
    params = [p for p in cmd.params if not getattr(p, "hidden", False)]
    if params:
        lines += ["| option | description | default |", "|---|---|---|"]
        lines += [_param(p) for p in params]
        lines.append("")
    if hasattr(cmd, "list_commands"):
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                lines += _command(sub, f"{name} {sub_name}")
    return lines


def _param(p: Any) -> str:
    if p.param_type_name == "argument":
        names = f"`{p.name.upper()}` (argument)"
    else:
        names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
    help_text = _text(getattr(p, "help", None) or "")
    default: Any = p.default
    shown = "" if default in (None, False, (), "") or callable(default) else f"`{default}`"
    return f"| {names} | {help_text} | {shown} |"


def _text(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
