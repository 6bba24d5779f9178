"""Apptainer images of the project: templates → rendered definitions → validated → SIF builds
(array job, one task per image) → servers run inside images without network.

    spec.py      configs/containers.yaml schema and loading
    render.py    Jinja2 templates (containers/*.def) → definition files
    validate.py  spython parse + our rules on a definition file
    plan.py      build contexts and the exact build commands
    submit.py    the build array job through the executor API
    apptainer.py finding Apptainer, running a build, the `apptainer exec` command line
"""
