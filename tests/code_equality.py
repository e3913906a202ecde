"""When a function written in a chapter is d2lmini's (contract C1), for the tests that check it.

The written function must be the package's minus what the package adds for later chapters: its
docstring, its type hints, its check_* calls, and the statements at its start that re-assign a
parameter (`lr = check_number(lr, ...)`, `params = list(params)`). Everything else counts,
comments and layout aside: the name, the parameters and their defaults, every other statement.
"""

import ast
import difflib
import textwrap
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager


def _is_check_call(statement: ast.stmt) -> bool:
    """A bare call of a function whose name starts with check_ or _check, e.g. check_lr(lr)."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    func = statement.value.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name.startswith(("check_", "_check"))


def _assigns_parameter(statement: ast.stmt, parameters: set[str]) -> bool:
    """An assignment that rebinds a parameter, e.g. `device = device or try_gpu()` (not an
    in-place update such as `w *= 1 - lr * weight_decay`: that is the computation itself)."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    else:
        return False
    return all(isinstance(t, ast.Name) and t.id in parameters for t in targets)


class _DropCheckCalls(ast.NodeTransformer):
    """Remove bare check_*(...) calls from every statement list, at any depth."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            statements = getattr(node, name, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                kept = [s for s in statements if not _is_check_call(s)]
                setattr(node, name, kept or [ast.Pass()])
        return node


def _arguments(function: ast.FunctionDef) -> list[ast.arg]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return [a for a in every if a is not None]


def teaching_form(function: ast.FunctionDef) -> ast.FunctionDef:
    """The package's function as a chapter writes it: no docstring, annotations, checks, or
    leading re-assignments of parameters (changes `function` in place)."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    function.body = body or [ast.Pass()]
    function = _DropCheckCalls().visit(function)
    parameters = {a.arg for a in _arguments(function)}
    while function.body and _assigns_parameter(function.body[0], parameters):
        function.body = function.body[1:]
    function.returns = None
    for arg in _arguments(function):
        arg.annotation = None
    return function


def _only_function(source: str) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(source))
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert len(functions) == 1, f"expected one function in:\n{source}"
    return functions[0]


def difference(written: str, package: str) -> str | None:
    """None if the function in `written` (a chapter's) is the one in `package` (d2lmini's
    source) by contract C1, else a readable diff. The written one is taken as it is: a
    docstring or a check there is a difference."""
    mine = _only_function(written)
    theirs = teaching_form(_only_function(package))
    if ast.dump(mine) == ast.dump(theirs):
        return None
    diff = difflib.unified_diff(ast.unparse(theirs).splitlines(), ast.unparse(mine).splitlines(),
                                "d2lmini (without docstring, annotations and checks)",
                                "written", lineterm="")
    text = "\n".join(diff)
    return text or "\n".join(difflib.unified_diff(  # same text, different trees: show the trees
        ast.dump(theirs, indent=1).splitlines(), ast.dump(mine, indent=1).splitlines(),
        "d2lmini", "written", lineterm=""))


def _code_cells(path: Path) -> list[tuple[int, str]]:
    """(index, Python source) of each code cell, IPython magics turned into Python."""
    notebook = nbformat.read(path, as_version=4)
    to_python = TransformerManager().transform_cell
    return [(i, to_python(cell.source)) for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"]


def notebook_functions(path: Path) -> list[tuple[int, str, str]]:
    """(cell index, name, source) of every top-level `def` in the notebook's code cells, and of
    every method of a top-level class, named "Class.method" (also a function added to a class
    with `@d2lmini.add_to_class(Class)`)."""
    found = []
    for index, source in _code_cells(path):
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                owner = _added_to(node)
                found.append((index, f"{owner}.{node.name}" if owner else node.name,
                              ast.get_source_segment(source, node)))
            elif isinstance(node, ast.ClassDef):
                found.extend((index, f"{node.name}.{item.name}",
                              ast.get_source_segment(source, item))
                             for item in node.body if isinstance(item, ast.FunctionDef))
    return found


def _added_to(function: ast.FunctionDef) -> str | None:
    """The class named in an `@add_to_class(Class)` decorator of the function, if any."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and decorator.args \
                and isinstance(decorator.args[0], ast.Name):
            name = decorator.func.attr if isinstance(decorator.func, ast.Attribute) \
                else getattr(decorator.func, "id", "")
            if name == "add_to_class":
                return decorator.args[0].id
    return None
