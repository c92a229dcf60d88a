import { createMemoryBackend } from '@conveyor/core';
import { describeDashboardApi } from './api-suite';

describeDashboardApi('memory', (clock) => createMemoryBackend({ clock }));
