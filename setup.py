"""Which packages the wheel holds; everything else about the project is in pyproject.toml.

- Every package under ``app/``, found (a new folder needs no edit here).
- ``app.resources``: the top-level ``resources/`` folder (icons), which stays there for the
  frozen build and the .deb, installed as ``app/resources/`` so that
  ``app.storage.paths.resources_dir()`` finds it inside the package. pyproject.toml cannot say
  this: its ``packages.find`` lists only folders that exist under ``app/``, and package
  data and folder mappings apply only to listed packages.
- setuptools' work files (``pip install .`` builds in the checkout) go to
  ``dist/setuptools/``, ignored by git, not to ``build/``, which holds the installer
  scripts. ``make clean`` removes them; a module deleted from ``app/`` stays in a wheel
  built over an old copy.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app", "app.*"]), "app.resources"],
    package_dir={"app.resources": "resources"},
    package_data={"app.resources": ["icons/*.svg"]},
    # the package data is exactly the list above (else setuptools reads icons/ as a
    # package left out, and warns)
    include_package_data=False,
    options={"build": {"build_base": "dist/setuptools"}},
)
