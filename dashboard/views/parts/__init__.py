"""Parts the dashboard pages share: tables and pickers, scoring, the live sampler, consent and compliance panels."""
