"""The six-month HTML report (Jinja2 templates) and its plots."""
