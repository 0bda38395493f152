"""Pure decisions: values in, values or actions out; no I/O."""
