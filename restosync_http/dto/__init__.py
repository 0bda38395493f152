"""msgspec DTOs: camelCase on the wire, unknown fields rejected; they never travel inward."""
