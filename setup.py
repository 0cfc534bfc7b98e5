from setuptools import find_packages
from setuptools import setup


setup(
    name="senaite_style_sync",
    version="1.0.0.dev0",
    description="Keep Plone sites in step: fetch, import and update content from peer sites over plone.restapi.",
    long_description=open("README.rst").read() + "\n\n" + open("CHANGES.rst").read(),
    long_description_content_type="text/x-rst",
    classifiers=[
        "Environment :: Web Environment",
        "Framework :: Plone",
        "Framework :: Plone :: 6.2",
        "Framework :: Plone :: Addon",
        "Programming Language :: Python :: 3.11",
        "License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
    ],
    license="GPL version 2",
    packages=find_packages("src"),
    package_dir={"": "src"},
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=[
        "Products.CMFPlone>=6.2",
        "plone.api",
        "plone.app.registry",
        "plone.app.z3cform",
        "plone.protect",
        "plone.restapi>=9",
        "z3c.form",
        "cryptography",
        "requests",
    ],
    extras_require={
        "test": [
            "plone.app.contenttypes",
            "plone.app.robotframework",
            "plone.app.testing",
            "plone.testing",
            "playwright",
            "zope.testrunner",
            "ruff",
            "import-linter",
            "i18ndude",
        ],
        "docs": [
            "Sphinx",
        ],
    },
    entry_points={
        "z3c.autoinclude.plugin": ["target = plone"],
    },
)
