"""The Pulumi engine without the vendor installer: builds the pinned CLI and Python language host from Go
modules once, into a cache outside the repository, and tells the other targets where it is. Standard
library only: it runs before the virtualenv exists."""
