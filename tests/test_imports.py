"""The core stays importable and usable without Qt."""

import subprocess
import sys


def test_core_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, fastsheet\n"
        "for m in pkgutil.walk_packages(fastsheet.__path__, 'fastsheet.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('PySide6', 'qasync', 'ui', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_no_import_circle():
    """No module of fastsheet, ui or bench imports itself back, through any chain of
    imports: run time, inside functions, or for the type checker alone."""
    import grimp

    graph = grimp.build_graph("fastsheet", "ui", "bench", exclude_type_checking_imports=False)
    ours = {m for m in graph.modules if m.split(".")[0] in ("fastsheet", "ui", "bench")}
    circles = []
    for module in sorted(ours):
        for imported in graph.find_modules_directly_imported_by(module) & ours:
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.append(" -> ".join([module, *back]))
    assert not circles, "import circles:\n" + "\n".join(circles[:10])


def test_each_package_says_its_job_and_what_it_may_import():
    import importlib
    import pkgutil

    import fastsheet

    for info in pkgutil.iter_modules(fastsheet.__path__, "fastsheet."):
        if info.ispkg:
            doc = importlib.import_module(info.name).__doc__ or ""
            assert len(doc) > 80 and "import" in doc, info.name


def test_every_bench_module_imports():
    """A bench that no test runs still imports: the names it takes from its neighbours exist."""
    code = (
        "import pkgutil, importlib, bench\n"
        "for m in pkgutil.iter_modules(bench.__path__, 'bench.'):\n"
        "    if m.name != 'bench.__main__':\n"
        "        importlib.import_module(m.name)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
