"""Seed vocabulary for GitLab: the company's repositories and what their files look like."""
from __future__ import annotations

# (path, description, language)
PROJECTS = [
    ("billing-service", "Invoicing and payment webhooks for the customer portal", "python"),
    ("customer-portal", "Self-service web portal for customers", "typescript"),
    ("infra-terraform", "Terraform modules for the production cloud accounts", "terraform"),
    ("auth-gateway", "SSO / OAuth2 gateway in front of internal services", "go"),
    ("data-pipeline", "Nightly ETL jobs feeding the analytics warehouse", "python"),
    ("mobile-app", "iOS and Android app (React Native)", "typescript"),
    ("search-indexer", "Keeps the product search index in sync", "go"),
    ("report-scheduler", "Scheduled PDF/CSV reports for finance and sales", "python"),
    ("helpdesk-bot", "Chat bot that answers first-level support questions", "python"),
    ("design-system", "Shared UI components and tokens", "typescript"),
]
LABELS = ["bug", "feature", "backend", "frontend", "security", "performance", "documentation", "tech-debt",
          "customer", "ops"]
MILESTONES = ["Q1 2026 release", "Q2 2026 release", "Hardening sprint"]
FEATURES = ["retry-logic", "rate-limit", "audit-log", "csv-export", "sso-login", "dark-mode", "cache-layer",
            "metrics", "timezone-fix", "pagination"]

_CI = {
    "python": "stages: [lint, test]\n\nlint:\n  stage: lint\n  image: python:3.12\n  script:\n    - pip install ruff\n"
              "    - ruff check .\n\ntest:\n  stage: test\n  image: python:3.12\n  script:\n"
              "    - pip install -r requirements.txt\n    - pytest -q\n",
    "typescript": "stages: [test, build]\n\ntest:\n  stage: test\n  image: node:20\n  script:\n    - npm ci\n"
                  "    - npm test\n\nbuild:\n  stage: build\n  image: node:20\n  script:\n    - npm run build\n",
    "go": "stages: [test]\n\ntest:\n  stage: test\n  image: golang:1.22\n  script:\n    - go vet ./...\n"
          "    - go test ./...\n",
    "terraform": "stages: [validate, plan]\n\nvalidate:\n  stage: validate\n  image: hashicorp/terraform:1.7\n"
                 "  script:\n    - terraform init -backend=false\n    - terraform validate\n\nplan:\n  stage: plan\n"
                 "  image: hashicorp/terraform:1.7\n  script:\n    - terraform plan\n",
}


def module_name(path: str) -> str:
    return path.replace("-", "_")


def tree(path: str, description: str, lang: str) -> dict[str, str]:
    """A small but real-looking repository tree for a project."""
    mod = module_name(path)
    files = {"README.md": f"# {path}\n\n{description}.\n\n## Development\n\nSee CONTRIBUTING.md. CI runs on every "
                          "merge request.\n",
             ".gitlab-ci.yml": _CI[lang],
             "CONTRIBUTING.md": "# Contributing\n\n1. Branch from `main`.\n2. Open a merge request.\n"
                                "3. A maintainer reviews and merges once the pipeline is green.\n"}
    if lang == "python":
        files.update({
            "requirements.txt": "fastapi==0.115.0\nsqlalchemy==2.0.35\npydantic==2.9.2\n",
            f"src/{mod}/__init__.py": f'"""{description}."""\n__version__ = "1.4.0"\n',
            f"src/{mod}/config.py": "import os\n\nDATABASE_URL = os.environ.get('DATABASE_URL', 'sqlite:///local.db')\n"
                                    "TIMEOUT_S = int(os.environ.get('TIMEOUT_S', '30'))\n",
            f"src/{mod}/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/health')\n"
                                  "def health():\n    return {'status': 'ok'}\n",
            "tests/test_health.py": f"from {mod}.main import health\n\n\ndef test_health():\n"
                                    "    assert health() == {'status': 'ok'}\n",
        })
    elif lang == "typescript":
        files.update({
            "package.json": f'{{\n  "name": "@acme/{path}",\n  "version": "2.1.0",\n  "scripts": {{"test": "vitest run", '
                            '"build": "vite build"}}\n}}\n',
            "src/index.ts": "import { createApp } from './app';\n\ncreateApp().mount('#root');\n",
            "src/app.ts": "export function createApp() {\n  return { mount: (sel: string) => console.log(`mounted on ${sel}`) };\n}\n",
            "src/app.test.ts": "import { createApp } from './app';\n\ntest('creates', () => expect(createApp()).toBeTruthy());\n",
        })
    elif lang == "go":
        files.update({
            "go.mod": f"module gitlab.acme-corp.example/acme/{path}\n\ngo 1.22\n",
            "cmd/server/main.go": "package main\n\nimport \"log\"\n\nfunc main() {\n\tlog.Println(\"starting\")\n}\n",
            "internal/handler/handler.go": "package handler\n\n// Health reports liveness.\nfunc Health() string { return \"ok\" }\n",
            "internal/handler/handler_test.go": "package handler\n\nimport \"testing\"\n\nfunc TestHealth(t *testing.T) {\n"
                                                "\tif Health() != \"ok\" {\n\t\tt.Fatal(\"unhealthy\")\n\t}\n}\n",
        })
    else:
        files.update({
            "main.tf": "terraform {\n  required_version = \">= 1.6\"\n}\n\nmodule \"network\" {\n  source = \"./modules/network\"\n"
                       "  cidr   = var.vpc_cidr\n}\n",
            "variables.tf": "variable \"vpc_cidr\" {\n  type    = string\n  default = \"10.20.0.0/16\"\n}\n",
            "modules/network/main.tf": "variable \"cidr\" { type = string }\n\noutput \"cidr\" { value = var.cidr }\n",
        })
    return files
