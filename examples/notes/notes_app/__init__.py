"""The notes example service, built on bastion."""
