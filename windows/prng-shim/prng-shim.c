/*
 * A stand-in for bcryptprimitives.dll under wine.
 *
 * Rust's standard library (1.78 and later) gets random bytes on Windows from
 * ProcessPrng in bcryptprimitives.dll. Debian's wine 8 has no such export,
 * so Windows test binaries fail to start there. This DLL exports ProcessPrng
 * on top of RtlGenRandom, which advapi32 exports as SystemFunction036 and
 * wine implements. It is only for running tests under wine; real Windows
 * has the real function.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
