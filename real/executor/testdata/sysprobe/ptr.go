package main

import "unsafe"

func unsafePointer(p *[120]byte) unsafe.Pointer { return unsafe.Pointer(p) }
