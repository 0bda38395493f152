"""restosync's HTTP shell: Litestar controllers, guards, DTOs and middleware around the core."""
