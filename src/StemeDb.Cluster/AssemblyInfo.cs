// The hot paths encode and hash subjects in stack buffers that are always written before being read:
// zeroing 3 KiB per lookup would cost more than the hash itself.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
