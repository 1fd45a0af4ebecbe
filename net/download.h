/*
 * The download check (net/download.c), started by download=HOST:PORT.
 */
#ifndef HARDWAY_NET_DOWNLOAD_H
#define HARDWAY_NET_DOWNLOAD_H

// Starts a goroutine that connects to `target` ("HOST:PORT", HOST a name
// or a dotted quad), reads until the server closes, and prints one line:
// the bytes and their CRC-32, or what went wrong and after how many bytes.
// `target` must stay valid (the command line's copy does).
void download_start(const char *target);

#endif
