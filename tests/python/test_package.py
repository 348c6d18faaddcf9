"""What the package ships: its version, the bundled migrations inside it, the HTTP
library beside the module, and type stubs that cover every public name."""

import ast
import importlib.metadata
import inspect
from pathlib import Path

import pytest

import pangeo_forge as pf
from pangeo_forge import _core

PACKAGE = Path(pf.__file__).parent


def test_the_migrations_ship_inside_the_package():
    assert Path(pf.bundled_migrations()) == PACKAGE / "migrations"
    assert len(list((PACKAGE / "migrations" / "versions").glob("*.json"))) == 8


def test_the_libraries_ship_beside_the_module():
    assert list(PACKAGE.glob("libpangeo_forge.so.*")) and list(PACKAGE.glob("libpangeo_forge_http.so.*"))


def test_the_installed_version_is_the_librarys():
    try:
        installed = importlib.metadata.version("pangeo-forge")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("run from the build tree, not an installed wheel")
    assert installed == pf.__version__


def stub_names():
    """{class name: its member names} for each class of _core.pyi; module-level names under ''."""
    tree = ast.parse((PACKAGE / "_core.pyi").read_text())
    names = {"": set()}

    def name_of(node):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, ast.AnnAssign):
            return node.target.id
        return None

    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def members(node):  # its own and those of the stub classes it derives from
        inherited = [members(classes[base.id]) for base in node.bases
                     if isinstance(base, ast.Name) and base.id in classes]
        return set().union({name_of(item) for item in node.body} - {None}, *inherited)

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = members(node)
        elif name_of(node):
            names[""].add(name_of(node))
    return names


def public(names):
    return {name for name in names if not name.startswith("_") or name in ("__init__", "__version__")}


def test_the_stubs_cover_every_public_name_of_the_module():
    stubs = stub_names()
    module_names = public(name for name in dir(_core) if not inspect.ismodule(getattr(_core, name)))
    declared = public(stubs[""] | set(stubs) - {""})
    assert module_names - declared == set(), "in the module, missing from _core.pyi"
    assert declared - module_names == set(), "in _core.pyi, not in the module"
    for name, members in stubs.items():
        if not name or name.startswith("_"):
            continue
        cls = getattr(_core, name)
        if issubclass(cls, BaseException) or isinstance(cls, type(pf.RecipeRunStatus)):
            continue
        actual = public(vars(cls)) - {"__init__"}
        assert actual - members == set(), f"{name}: members missing from _core.pyi"
        assert public(members) - {"__init__"} - actual == set(), f"{name}: stubbed members the class lacks"


def test_the_package_is_marked_typed():
    assert (PACKAGE / "py.typed").exists()


def stub_keywords():
    """{class name: its __init__'s keyword-only names} for each class of _core.pyi that declares them."""
    tree = ast.parse((PACKAGE / "_core.pyi").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__" and item.args.kwonlyargs:
                    found[node.name] = [arg.arg for arg in item.args.kwonlyargs]
    return found


def test_the_stubbed_constructors_take_the_fields_the_api_describes():
    # Both come from the models' field tables: the stubs at build time, the document at run time.
    schemas = pf.openapi_document()["components"]["schemas"]
    keywords = stub_keywords()
    for model in ("Bakery", "Feedstock", "RecipeRun"):
        for form, schema in ((model + "Create", model + "Create"), (model, model + "Read"),
                             (model + "Update", model + "Update")):
            assert sorted(keywords[form]) == sorted(schemas[schema]["properties"]), form
            # A row is read in full but made like a create: what a create may leave out, it may too.
            required = set(schemas[model + "Create" if form == model else schema].get("required", []))
            required |= {"id"} if form == model else set()
            init = next(item for node in ast.parse((PACKAGE / "_core.pyi").read_text()).body
                        if isinstance(node, ast.ClassDef) and node.name == form
                        for item in node.body if isinstance(item, ast.FunctionDef))
            optional = {arg.arg for arg, default in zip(init.args.kwonlyargs, init.args.kw_defaults) if default}
            assert set(keywords[form]) - optional == required, form
