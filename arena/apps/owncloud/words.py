"""ownCloud seed vocabulary: group folder names, document templates."""
# department name -> its group folder (short names people actually use; HR's is fixed by the HR contract)
FOLDER_NAMES = {"Engineering": "Engineering", "Product": "Product", "Sales": "Sales", "Customer Support": "Support",
                "Human Resources": "HR", "Finance": "Finance", "Marketing": "Marketing", "IT Operations": "IT"}
CONFIDENTIAL_FOLDERS = ("/HR", "/Finance")  # public links there must expire (security policy)
DEFAULT_QUOTA = 10 * 1024 ** 3
MANAGER_QUOTA = 50 * 1024 ** 3
BUDGET_LINES = ["Salaries", "Contractors", "Software licences", "Hardware", "Travel", "Training", "Events"]
MEETING_TOPICS = ["Weekly sync", "Planning", "Retrospective", "Quarterly review", "Hiring sync"]
COMPANY_DOCS = {
    "Leave Policy Summary.md": "# Leave policy (summary)\n\nCasual Leave: 12 days per year\nSick Leave: 10 days per year\n"
                               "Privilege Leave: 18 days per year\n\nApply in Frappe HR; your manager approves. "
                               "Full text: http://intranet/policies/leave-policy\n",
    "Expense Policy Summary.md": "# Expense policy (summary)\n\nSubmit receipts within 30 days. Claims above 500 EUR "
                                 "need manager approval. Full text: http://intranet/policies/expense-policy\n",
    "Brand Guidelines.md": "# Brand guidelines\n\nPrimary colour: #0B5FFF. Font: Inter. Logo clear space: 1x the "
                           "height of the 'A'.\n",
    "Office Addresses.csv": "office,street,city,country\nHQ,Torstrasse 1,Berlin,DE\nParis,12 Rue de Rivoli,Paris,FR\n"
                            "Austin,500 Congress Ave,Austin,US\n",
}
MIMETYPES = {".md": "text/markdown", ".txt": "text/plain", ".csv": "text/csv", ".json": "application/json",
             ".pdf": "application/pdf", ".py": "text/x-python", ".sh": "application/x-sh", ".log": "text/plain",
             ".html": "text/html", ".png": "image/png", ".jpg": "image/jpeg", ".xlsx":
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
