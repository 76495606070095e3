# Helpers; the README's two commands are the reference.
.PHONY: venv demo test ci

venv:
	python3 -m venv .venv && .venv/bin/python -m pip install -q ".[test,serve]"

demo: venv
	.venv/bin/keras-inpaint inpaint --auto-mask medium --grid -o inpainted.png

test:
	.venv/bin/python -m pytest -q tests

ci:
	bash .ci/run
