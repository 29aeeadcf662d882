/*
 * supervisor/supervisor.h - entry point of homemxd.
 */
#ifndef HMX_SUPERVISOR_H
#define HMX_SUPERVISOR_H

int	supervisor_main(int argc, char **argv);

#endif
