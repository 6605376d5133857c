/** Keys shaped like the Python monitor's benchmark runs: `seed/dNNNN/obj-NNNNNNN.dat` (26 bytes). */
export const benchKey = (i: number) => `seed/d${String(i % 100).padStart(4, '0')}/obj-${String(i).padStart(7, '0')}.dat`
