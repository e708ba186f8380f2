"""``sdd spec``: create and list feature specs."""

from typing import Annotated, Any

import typer

from sdd.cli.application import CommandGroup, application
from sdd.cli.output import table

app = CommandGroup(help="Create and list feature specs.")


def spec_json(spec: Any, relative: str) -> dict[str, Any]:
    return {
        "number": spec.number,
        "feature": spec.name,
        "slug": spec.slug,
        "title": spec.title,
        "status": spec.status,
        "operations": spec.operation_ids(),
        "path": relative,
    }


@app.command("new")
def spec_new(
    title: Annotated[str, typer.Argument(help="Feature title.")],
    short_name: Annotated[
        str | None, typer.Option("--short-name", help="Slug for the folder.")
    ] = None,
    number: Annotated[int | None, typer.Option("--number", help="Use this number.")] = None,
    branch: Annotated[
        bool, typer.Option("--branch", help="Also create and switch to the git branch NNN-slug.")
    ] = False,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the new spec in $VISUAL/$EDITOR.")
    ] = False,
) -> None:
    """Create specs/NNN-slug/{spec,plan,tasks}.md from the templates."""
    import shutil

    from sdd.editor import editor_command, open_in_editor
    from sdd.errors import SddError
    from sdd.gitinfo import create_branch, require_repository
    from sdd.specs import create_spec, read_spec

    app_ = application()
    project = app_.project()
    editor = editor_command() if edit else None
    if branch:
        require_repository(project.root)
    created = create_spec(project, title=title, short_name=short_name, number=number)
    if branch:
        try:
            create_branch(project.root, created.folder.name)
        except SddError:
            shutil.rmtree(created.folder, ignore_errors=True)  # nothing half-done is left behind
            raise
    if editor:
        open_in_editor(editor, created.files[0])
    spec = read_spec(created.folder, number=created.number, slug=created.slug)
    files = [project.relative(path) for path in created.files]
    app_.emit(
        {
            "spec": spec_json(spec, project.relative(created.folder)),
            "files": files,
            "branch": created.folder.name if branch else None,
        },
        text="\n".join(files),
    )


@app.command("list")
def spec_list() -> None:
    """List specs with number, slug, title, status and operations."""
    from sdd.specs import list_specs

    app_ = application()
    project = app_.project()
    specs = list_specs(project)
    rows = [spec_json(spec, project.relative(spec.spec_path)) for spec in specs]

    def text() -> str:
        return table(
            ["NUM", "SLUG", "TITLE", "STATUS", "OPERATIONS"],
            [
                [
                    f"{spec.number:03d}",
                    spec.slug,
                    spec.title or "",
                    spec.status or "?",
                    ", ".join(spec.operation_ids()) or "none",
                ]
                for spec in specs
            ],
            app_.terminal,
        )

    app_.emit({"specs": rows, "count": len(rows)}, text=text)
