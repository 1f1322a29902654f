"""The stack of one machine: the embedded Temporal dev server, the stack file
and its lock, the codec server, a loopback receiver."""
