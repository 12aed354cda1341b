// The Python that runs the PyTorch peers: Debian's, which has python3-torch (a virtualenv's
// would not). Its own module so that importing it loads no other peer.

export const SYSTEM_PYTHON = '/usr/bin/python3';
