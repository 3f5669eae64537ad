#!/bin/sh
# A release build in which every byte that runs was hash-checked first (README.rst, "A verified
# release build"). Run it from the root of a setuptools project:
#
#     PYTHON=python3.12 sh release.sh
#
# It reads three hashed requirements files (names from the environment, these by default):
#
#   bootstrap-requirements.txt  pip, peep-setuptools and packaging: pip checks these hashes
#   build-requirements.txt      the build backend and front end and their dependencies
#                               (setuptools, build, pyproject_hooks, ...): peep checks them,
#                               and refuses a dependency the file leaves out
#   requirements.txt            the project's own requirements: python setup.py peep_install
#                               (setup.cfg's [peep_install] or the peep_requirements keyword)
#
# Index options (--index-url, --find-links) go in the files themselves. The environment is a
# new virtual environment outside the project; the sdist and wheel are built in it without
# build isolation, so nothing is fetched unverified, and they reach dist/ only if every step
# succeeded. Any failure: exit 1, one line on stderr saying which step, dist/ untouched.
set -eu

python=${PYTHON:-python3}
bootstrap=${BOOTSTRAP_REQUIREMENTS:-bootstrap-requirements.txt}
build_requirements=${BUILD_REQUIREMENTS:-build-requirements.txt}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stop() {
    echo "release.sh: $1; nothing was released (dist/ is untouched)." >&2
    exit 1
}

echo "release.sh: 1/5 a new build environment"
"$python" -m venv "$work/venv" || stop "cannot make a virtual environment with $python"
venv_python=$work/venv/bin/python

echo "release.sh: 2/5 pip and the plugin, hash-checked by pip ($bootstrap)"
"$venv_python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$bootstrap" ||
    stop "pip or the plugin in $bootstrap did not verify (see pip's message above)"

echo "release.sh: 3/5 the build backend and front end, hash-checked by peep ($build_requirements)"
"$venv_python" -m peep_setuptools install -r "$bootstrap" -r "$build_requirements" \
    --require-complete ||
    stop "the build requirements in $build_requirements did not verify (see above)"

echo "release.sh: 4/5 the project's requirements, hash-checked by peep (setup.py peep_install)"
"$venv_python" setup.py --quiet peep_install ||
    stop "the project's requirements did not verify (see above)"

echo "release.sh: 5/5 the sdist and the wheel, built from that environment only"
"$venv_python" -m build --no-isolation --outdir "$work/dist" . ||
    stop "the build failed (see above)"
released=$(cd "$work/dist" && ls)
mkdir -p dist
mv "$work"/dist/* dist/
echo "release.sh: released" $released "into dist/"
