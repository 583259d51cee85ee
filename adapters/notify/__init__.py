"""Notification transports behind the action ports: HTTP (httpx), SMTP (smtplib), the OpenLineage
client, and the DNS resolution that comes before every connection they make."""
