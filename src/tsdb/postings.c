/* This file implements the sorted-set operations on postings lists
 * (ascending 32-bit series numbers) that the head and the blocks share. */
#include "tsdb_int.h"

#include <stdlib.h>

int postings_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t postings_intersect(uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else
            a[k++] = a[i++], j++;
    }
    return k;
}

size_t postings_subtract(uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    size_t i = 0, j = 0, k = 0;
    while (i < na) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j < nb && b[j] == a[i])
            i++;
        else
            a[k++] = a[i++];
    }
    return k;
}

bool postings_contains(const uint32_t *v, size_t n, uint32_t x) {
    return bsearch(&x, v, n, sizeof *v, postings_cmp) != NULL;
}
